"""transformers' side of `vln-r1 bench model`: prefill and decode throughput of Qwen2VLForConditionalGeneration
on the same checkpoint, chat and batch size as the Rust side. Prints one JSON line.

Usage: python bench_transformers.py CHECKPOINT_DIR MESSAGES_JSON BATCH NEW_TOKENS REPEATS
"""

import json
import os
import resource
import sys
import time

import torch
from PIL import Image
from transformers import Qwen2TokenizerFast, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor, Qwen2VLProcessor


class ImageOnlyProcessor(Qwen2VLProcessor):
    """Qwen2VLProcessor without its video processor (that one needs torchvision, which is not installed)."""

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument_name == "video_processor":
            return None
        return super().check_argument_for_proper_class(argument_name, argument)


def main(ckpt, messages_path, batch, new_tokens, repeats):
    tokenizer = Qwen2TokenizerFast.from_pretrained(ckpt)
    tokenizer.padding_side = "left"
    processor = ImageOnlyProcessor(image_processor=Qwen2VLImageProcessor.from_pretrained(ckpt), tokenizer=tokenizer,
                                   video_processor=None, chat_template=tokenizer.chat_template)
    model = Qwen2VLForConditionalGeneration.from_pretrained(ckpt, dtype=torch.float32).eval()
    messages = json.load(open(messages_path))
    base = os.path.dirname(messages_path)
    images = [Image.open(os.path.join(base, c["image"])) for m in messages if not isinstance(m["content"], str)
              for c in m["content"] if c["type"] == "image"]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[text] * batch, images=images * batch, padding=True, return_tensors="pt")
    seq = inputs["input_ids"].shape[1]

    def best(f):
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
        return min(times)

    with torch.no_grad():
        model(**inputs, use_cache=True)  # warm-up
        prefill = best(lambda: model(**inputs, use_cache=True))
        total = best(lambda: model.generate(**inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                            do_sample=False, pad_token_id=tokenizer.pad_token_id))
    decode = max(total - prefill, 1e-9)
    print(json.dumps({
        "seq_len": seq,
        "prefill_s": prefill,
        "prefill_tok_s": batch * seq / prefill,
        "generate_s": total,
        "decode_tok_s": batch * (new_tokens - 1) / decode,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
