#!/usr/bin/env python3
"""Does a checkpoint's next action depend on what it sees? A diagnostic for SFT runs that collapse to one action.

    .venv/bin/python scripts/probe_inputs.py CHECKPOINT STORE [SAMPLES]

For SAMPLES prompts of a datagen store (`STORE/vln_ego.json`, spread over the file), it loads the checkpoint in
`transformers` (our checkpoints are Hugging Face layout) and prints the distribution of the first answer letter
(A forward, B left, C right, D stop) three ways: with the sample's real frames, with every frame replaced by
flat grey, and with the instruction replaced by that of another episode. The mean total-variation distances
to the real-input distribution say how much the frames and the instruction move the prediction (0 = ignored).
"""
import json
import sys

import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoTokenizer, Qwen2VLForConditionalGeneration, Qwen2VLProcessor


class ImageOnlyProcessor(Qwen2VLProcessor):
    """Qwen2VLProcessor without its video processor (that one needs torchvision, which is not installed)."""

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument_name == "video_processor":
            return None
        return super().check_argument_for_proper_class(argument_name, argument)


def first_letter_probs(model, processor, letter_ids, prompt, images):
    parts = prompt.split("<image>")
    content = []
    for k, text in enumerate(parts):
        if text:
            content.append({"type": "text", "text": text})
        if k < len(images):
            content.append({"type": "image"})
    text = processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)
    inputs = processor(text=[text], images=images, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits[0, -1]
    return torch.softmax(logits, -1)[letter_ids]


def load(ckpt):
    """The checkpoint in transformers, its processor, and the token ids of the answer letters A..D."""
    tokenizer = AutoTokenizer.from_pretrained(ckpt)
    processor = ImageOnlyProcessor(image_processor=AutoImageProcessor.from_pretrained(ckpt, use_fast=False),
                                   tokenizer=tokenizer, video_processor=None, chat_template=tokenizer.chat_template)
    model = Qwen2VLForConditionalGeneration.from_pretrained(ckpt, dtype=torch.float32).eval()
    return model, processor, [tokenizer.convert_tokens_to_ids(c) for c in "ABCD"]


def main(ckpt, store, n):
    model, processor, letter_ids = load(ckpt)
    samples = json.load(open(f"{store}/vln_ego.json"))
    picked = [samples[i * len(samples) // n] for i in range(n)]
    tv_frames, tv_text = [], []
    print(f"{'target':<26} {'real frames A/B/C/D':<26} {'grey frames':<26} {'other instruction':<26}")
    for k, s in enumerate(picked):
        prompt, answer = s["conversations"][0]["value"], s["conversations"][1]["value"]
        frames = [Image.open(f"{store}/{p}").convert("RGB") for p in s["images"]]
        grey = [Image.new("RGB", f.size, (128, 128, 128)) for f in frames]
        other = picked[(k + n // 2) % n]["conversations"][0]["value"]
        swap = prompt.split('"')[0] + '"' + other.split('"')[1] + '"' + '"'.join(prompt.split('"')[2:])
        p = first_letter_probs(model, processor, letter_ids, prompt, frames)
        g = first_letter_probs(model, processor, letter_ids, prompt, grey)
        t = first_letter_probs(model, processor, letter_ids, swap, frames)
        tv_frames.append(0.5 * (p - g).abs().sum().item())
        tv_text.append(0.5 * (p - t).abs().sum().item())
        fmt = lambda v: " ".join(f"{x:.2f}" for x in v.tolist())
        print(f"{answer.split(',')[0]:<26} {fmt(p):<26} {fmt(g):<26} {fmt(t):<26}")
    print(f"mean total variation: frames -> grey {sum(tv_frames) / n:.4f}, instruction -> another {sum(tv_text) / n:.4f}"
          f" ({n} samples)")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 24)
