"""Loads a checkpoint directory written by vln-r1 (`model init`, `Qwen2VL::save`) with transformers alone and
writes what transformers computes for a chat: input ids, pixel values and logits.

Usage: python check_checkpoint.py CHECKPOINT_DIR MESSAGES_JSON OUT.safetensors
Fails if transformers cannot load the directory as a Qwen2-VL model + processor.
"""

import json
import os
import sys

import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import AutoImageProcessor, AutoTokenizer, Qwen2VLForConditionalGeneration, Qwen2VLProcessor


class ImageOnlyProcessor(Qwen2VLProcessor):
    """Qwen2VLProcessor without its video processor (that one needs torchvision, which is not installed)."""

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument_name == "video_processor":
            return None
        return super().check_argument_for_proper_class(argument_name, argument)


def main(ckpt, messages_path, out):
    tokenizer = AutoTokenizer.from_pretrained(ckpt)
    image_processor = AutoImageProcessor.from_pretrained(ckpt, use_fast=False)
    processor = ImageOnlyProcessor(image_processor=image_processor, tokenizer=tokenizer, video_processor=None,
                                   chat_template=tokenizer.chat_template)
    model = Qwen2VLForConditionalGeneration.from_pretrained(ckpt, dtype=torch.float32).eval()
    messages = json.load(open(messages_path))
    base = os.path.dirname(messages_path)
    images = [Image.open(os.path.join(base, c["image"])) for m in messages if not isinstance(m["content"], str)
              for c in m["content"] if c["type"] == "image"]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = processor(text=[text], images=images or None, return_tensors="pt")
    with torch.no_grad():
        logits = model(**inputs).logits[0].float()
    tensors = {"logits": logits.contiguous(), "input_ids": inputs["input_ids"][0].contiguous()}
    if images:
        tensors["pixel_values"] = inputs["pixel_values"].float().contiguous()
    save_file(tensors, out)


if __name__ == "__main__":
    torch.set_num_threads(2)
    main(sys.argv[1], sys.argv[2], sys.argv[3])
