"""Reference SFT loss curve: plain transformers + torch.optim.AdamW on the same checkpoint and store as `vln-r1 sft`.

Usage: python transformers_train.py CHECKPOINT_DIR DATAGEN_DIR STEPS BATCH LR [SEED]
Reads DATAGEN_DIR/vln_ego.json (the sharegpt file `vln-r1 datagen` writes next to the sample store), shuffles it
(seeded), and trains with the answer-only loss (prompt masked with -100, as vln-r1 sft), constant LR, AdamW with
weight decay 0.01, gradient clipping at 1.0, in f32 on one CPU thread. Prints the mean training loss of every 50
steps, to compare with the `loss` lines of vln-r1's metrics.jsonl for the same settings.
"""

import json
import os
import random
import sys
import time

import torch
from transformers import AutoImageProcessor, AutoTokenizer, Qwen2VLForConditionalGeneration

from transformers_step import ImageOnlyProcessor, chat


def main(ckpt, data, steps, batch, lr, seed="0"):
    steps, batch, lr, seed = int(steps), int(batch), float(lr), int(seed)
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(ckpt)
    processor = ImageOnlyProcessor(image_processor=AutoImageProcessor.from_pretrained(ckpt, use_fast=False),
                                   tokenizer=tokenizer, video_processor=None, chat_template=tokenizer.chat_template)
    tokenizer.padding_side = "left"
    model = Qwen2VLForConditionalGeneration.from_pretrained(ckpt, dtype=torch.float32).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    samples = json.load(open(os.path.join(data, "vln_ego.json")))
    random.Random(seed).shuffle(samples)
    start, window = time.perf_counter(), []
    for k in range(steps):
        texts, images, prompt_lens = [], [], []
        for s in (samples[(k * batch + j) % len(samples)] for j in range(batch)):
            messages, answer, imgs = chat(s, data)
            prompt = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            texts.append(prompt + answer + "<|im_end|>")
            images += imgs
            prompt_lens.append(len(processor(text=[prompt], images=imgs, return_tensors="pt")["input_ids"][0]))
        inputs = processor(text=texts, images=images, padding=True, return_tensors="pt")
        labels = inputs["input_ids"].clone()
        seq = labels.shape[1]
        for row, (n, p) in enumerate(zip(inputs["attention_mask"].sum(1).tolist(), prompt_lens)):
            labels[row, : seq - n + p] = -100
        loss = model(**inputs, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        window.append(loss.item())
        if len(window) == 50 or k + 1 == steps:
            print(json.dumps({"steps": f"{k + 2 - len(window)}-{k + 1}", "mean_loss": sum(window) / len(window),
                              "seconds": round(time.perf_counter() - start, 1)}), flush=True)
            window = []


if __name__ == "__main__":
    if len(sys.argv) not in (6, 7):
        sys.exit(__doc__)
    main(*sys.argv[1:])
