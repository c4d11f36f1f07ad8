"""Reference SFT step time: plain transformers + torch on the same checkpoint and samples as `vln-r1 sft`.

Usage: python transformers_step.py CHECKPOINT_DIR DATAGEN_DIR STEPS BATCH [device] [dtype]
Reads DATAGEN_DIR/vln_ego.json (the sharegpt file `vln-r1 datagen` writes next to the sample store), takes its
full-history samples (83% of the 10-episode `uniform:8` store of gpu_step_time.sh, so most of what `vln-r1 sft`
times), builds the same chat (prompt with one image per <image>, answer as the assistant turn), masks the prompt with -100
(answer-only loss, as vln-r1 sft), and times forward + backward + AdamW steps. Prints one JSON line.
"""

import json
import os
import sys
import time

import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoTokenizer, Qwen2VLForConditionalGeneration, Qwen2VLProcessor


class ImageOnlyProcessor(Qwen2VLProcessor):
    """Qwen2VLProcessor without its video processor (that one needs torchvision)."""

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument_name == "video_processor":
            return None
        return super().check_argument_for_proper_class(argument_name, argument)


def chat(sample, root):
    prompt = sample["conversations"][0]["value"]
    pieces = prompt.split("<image>")
    content = []
    for k, piece in enumerate(pieces):
        if piece:
            content.append({"type": "text", "text": piece})
        if k + 1 < len(pieces):
            content.append({"type": "image"})
    images = [Image.open(os.path.join(root, p)).convert("RGB") for p in sample["images"]]
    return [{"role": "user", "content": content}], sample["conversations"][1]["value"], images


def main(ckpt, data, steps, batch, device="cuda", dtype="bfloat16"):
    steps, batch = int(steps), int(batch)
    dtype = getattr(torch, dtype)
    tokenizer = AutoTokenizer.from_pretrained(ckpt)
    image_processor = AutoImageProcessor.from_pretrained(ckpt, use_fast=False)
    processor = ImageOnlyProcessor(image_processor=image_processor, tokenizer=tokenizer, video_processor=None,
                                   chat_template=tokenizer.chat_template)
    model = Qwen2VLForConditionalGeneration.from_pretrained(ckpt, dtype=dtype).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-6, weight_decay=0.0)
    samples = json.load(open(os.path.join(data, "vln_ego.json")))
    # Full-history samples only: the file starts with episode starts (short history, ~40% shorter), while
    # `vln-r1 sft`'s shuffled batches are mostly full-history; both print tokens per sample to check.
    most = max(len(s["images"]) for s in samples)
    samples = [s for s in samples if len(s["images"]) == most]
    texts, imgs, prompt_lens = [], [], []
    for s in samples[: steps * batch + batch]:
        messages, answer, images = chat(s, data)
        prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        texts.append(prompt + answer + "<|im_end|>")
        imgs.append(images)
        prompt_lens.append(len(processor(text=[prompt], images=images, return_tensors="pt")["input_ids"][0]))
    tokenizer.padding_side = "left"

    def step(k):
        sl = slice(k * batch, (k + 1) * batch)
        inputs = processor(text=texts[sl], images=[i for group in imgs[sl] for i in group], padding=True,
                           return_tensors="pt").to(device)
        labels = inputs["input_ids"].clone()
        lengths = inputs["attention_mask"].sum(1)
        seq = labels.shape[1]
        for row, (n, p) in enumerate(zip(lengths.tolist(), prompt_lens[sl])):
            labels[row, : seq - n + p] = -100
        out = model(**inputs, labels=labels)
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return int(inputs["attention_mask"].sum())

    step(0)  # warm-up (allocator, kernels)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start, tokens = time.perf_counter(), 0
    for k in range(1, steps + 1):
        tokens += step(k)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    secs = time.perf_counter() - start
    print(json.dumps({"impl": "transformers", "steps": steps, "batch": batch, "seconds_per_step": secs / steps,
                      "samples_per_second": steps * batch / secs, "tokens_per_second": tokens / secs,
                      "tokens_per_sample": tokens / (steps * batch),
                      "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else None}))


if __name__ == "__main__":
    main(*sys.argv[1:])
