"""Reference outputs of transformers' Qwen2-VL for the Rust parity tests (agent/tests/parity.rs).

Builds tiny random Qwen2-VL checkpoints in Hugging Face format (several shapes and file layouts), a small byte-level
BPE tokenizer with the Qwen2-VL special tokens appended after its vocabulary, PNG images, and chats with 0, 1 and
several images and a video; then writes what transformers computes for them: input ids, pixel values, logits of
every position and greedy continuations (single and left-padded batched).

Usage (the Rust test runs this itself when its cached copy is missing or this file changed):
    .venv/bin/python agent/tests/parity/make_reference.py OUT_DIR
Runs in ~15 s on 2 CPU cores; writes ~3 MB.
"""

import json
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import (
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen2VLImageProcessor,
    Qwen2VLProcessor,
    Qwen2TokenizerFast,
)


class ReferenceProcessor(Qwen2VLProcessor):
    """Qwen2VLProcessor without a video processor: transformers' Qwen2VLVideoProcessor needs torchvision (not
    installed), so videos go through the image processor's video path instead (see main)."""

    def check_argument_for_proper_class(self, argument_name, argument):
        if argument_name == "video_processor":
            return None
        return super().check_argument_for_proper_class(argument_name, argument)

SPECIALS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>",
]
SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# The Qwen2-VL chat template (same behaviour as agent::chat::CHAT_TEMPLATE_JINJA; written independently so a
# mismatch between the Rust renderer and this template fails the input-id comparison).
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

CORPUS = [
    "Walk past the couch and turn left into the kitchen. Stop next to the fridge.",
    "Go up the stairs, then take a right at the painting and wait in the bedroom doorway.",
    "Exit the bathroom, walk down the hallway and stop in front of the table.",
    "Describe the image. What do you see? The picture shows a red square on a blue background.",
    "A. Move forward 25 cm, B. Turn left 15 degrees, C. Turn right 15 degrees, D. Stop",
    "You are a helpful assistant. Historical observations: None. Current observation:",
] * 20


def build_tokenizer(out):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.post_processor = None
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=420, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer=trainer)
    tok.add_special_tokens(SPECIALS)
    tok.save(os.path.join(out, "tokenizer.json"))
    return tok.get_vocab_size(with_added_tokens=False)


def write_tokenizer_files(ckpt, tok_json):
    shutil.copy(tok_json, os.path.join(ckpt, "tokenizer.json"))
    with open(os.path.join(ckpt, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "Qwen2Tokenizer", "eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
                   "bos_token": None, "unk_token": None, "chat_template": CHAT_TEMPLATE,
                   "model_max_length": 32768}, f)


def make_images(out):
    rng = np.random.default_rng(7)
    specs = {"small.png": (48, 64), "wide.png": (60, 100), "square.png": (130, 150), "exact.png": (56, 84)}
    paths = {}
    for name, (h, w) in specs.items():
        yy, xx = np.mgrid[0:h, 0:w]
        img = np.stack([(xx * 255 // max(w - 1, 1)), (yy * 255 // max(h - 1, 1)), ((xx + yy) * 7) % 256], -1)
        img = img.astype(np.int32) + rng.integers(-40, 40, size=img.shape)
        img[h // 3: h // 2, w // 4: w // 2] = [250, 20, 30]  # a sharp-edged block exercises the cubic's overshoot
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(os.path.join(out, name))
        paths[name] = os.path.join(out, name)
    for i in range(3):  # video frames
        frame = np.clip(rng.integers(0, 255, size=(56, 56, 3)) // (i + 1) + i * 40, 0, 255).astype(np.uint8)
        Image.fromarray(frame).save(os.path.join(out, f"frame{i}.png"))
    return paths


MODELS = {
    # name: (text kwargs, vision kwargs, tie, layout)
    "mha_tied": (dict(hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=4, rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]}),
                 dict(depth=2, embed_dim=32, num_heads=2, mlp_ratio=2), True, "single"),
    "gqa_untied_sharded": (dict(hidden_size=64, intermediate_size=80, num_hidden_layers=3, num_attention_heads=4,
                                num_key_value_heads=1, rope_theta=10000.0,
                                rope_scaling={"type": "mrope", "mrope_section": [4, 2, 2]}),
                           dict(depth=1, embed_dim=48, num_heads=3, mlp_ratio=3), False, "sharded_new_keys"),
    "bf16_flat": (dict(hidden_size=96, intermediate_size=128, num_hidden_layers=2, num_attention_heads=3,
                       num_key_value_heads=1, rope_scaling={"type": "mrope", "mrope_section": [4, 6, 6]}),
                  dict(depth=2, embed_dim=32, num_heads=2, mlp_ratio=4), True, "bf16_flat"),
}


def build_model(name, vocab, base, out):
    text, vision, tie, layout = MODELS[name]
    torch.manual_seed(len(name))
    cfg = Qwen2VLConfig(
        text_config=dict(vocab_size=vocab, max_position_embeddings=4096, tie_word_embeddings=tie, rms_norm_eps=1e-6,
                         **text),
        vision_config=dict(hidden_size=text["hidden_size"], **vision),
        vision_start_token_id=base + 9, vision_end_token_id=base + 10, image_token_id=base + 12,
        video_token_id=base + 13, tie_word_embeddings=tie,
    )
    model = Qwen2VLForConditionalGeneration(cfg).eval()
    # Random everything (biases and norm weights too: an ignored bias must change the logits), with a scale
    # that gives decisive logits so greedy continuations are stable.
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.08)
            elif pname.endswith("bias"):
                p.normal_(0.0, 0.05)
            else:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
    ckpt = os.path.join(out, name)
    if layout == "bf16_flat":
        model = model.to(torch.bfloat16)
    model.save_pretrained(ckpt)
    if layout == "bf16_flat":
        # The legacy flat config (text fields at the top level), as Qwen2-VL-2B ships it.
        path = os.path.join(ckpt, "config.json")
        c = json.load(open(path))
        text_cfg = c.pop("text_config")
        text_cfg.pop("model_type", None)
        c.update(text_cfg)
        json.dump(c, open(path, "w"), indent=1)
        # Reload rather than casting back in memory: a cast would also round the rotary inv_freq buffers, which
        # are not saved, and the reference must be what transformers computes from the files.
        model = Qwen2VLForConditionalGeneration.from_pretrained(ckpt, dtype=torch.float32).eval()
    if layout == "sharded_new_keys":
        # Two shards under the newer in-memory names (model.language_model.*, model.visual.*).
        sd = load_file(os.path.join(ckpt, "model.safetensors"))
        os.remove(os.path.join(ckpt, "model.safetensors"))
        renamed = {}
        for k, v in sd.items():
            if k.startswith("visual."):
                k = "model." + k
            elif k.startswith("model."):
                k = "model.language_model." + k[len("model."):]
            renamed[k] = v.contiguous()
        keys = sorted(renamed)
        shards = {"model-00001-of-00002.safetensors": keys[: len(keys) // 2],
                  "model-00002-of-00002.safetensors": keys[len(keys) // 2:]}
        weight_map = {}
        for fname, ks in shards.items():
            save_file({k: renamed[k] for k in ks}, os.path.join(ckpt, fname), metadata={"format": "pt"})
            weight_map.update({k: fname for k in ks})
        json.dump({"metadata": {}, "weight_map": weight_map},
                  open(os.path.join(ckpt, "model.safetensors.index.json"), "w"))
    return model, ckpt


def main(out):
    os.makedirs(out, exist_ok=True)
    tok_json = os.path.join(out, "tokenizer.json")
    base = build_tokenizer(out)
    vocab = base + len(SPECIALS)
    imgs = make_images(out)
    image_processor = Qwen2VLImageProcessor()

    def chat(*parts):
        content = []
        for p in parts:
            content.append({"type": "image", "image": p} if p.endswith(".png") else {"type": "text", "text": p})
        return [{"role": "user", "content": content}]

    chats = {
        "text_only": [{"role": "system", "content": "You navigate."},
                      {"role": "user", "content": "Walk past the couch. Which way?"},
                      {"role": "assistant", "content": "Turn left."},
                      {"role": "user", "content": [{"type": "text", "text": "And then?"}]}],
        "one_image": chat("Describe the image.", "square.png"),
        "several_images": chat("Historical observations: ", "small.png", "wide.png", " Current observation: ",
                               "exact.png", " Which way?"),
    }
    manifest = {"models": {}, "chats": {}, "batch": {}, "video": {}}
    for name, msgs in chats.items():
        json.dump(msgs, open(os.path.join(out, f"{name}.json"), "w"), indent=1)

    for mname in MODELS:
        model, ckpt = build_model(mname, vocab, base, out)
        write_tokenizer_files(ckpt, tok_json)
        image_processor.save_pretrained(ckpt)
        tokenizer = Qwen2TokenizerFast.from_pretrained(ckpt)
        processor = ReferenceProcessor(image_processor=image_processor, tokenizer=tokenizer, video_processor=None,
                                       chat_template=CHAT_TEMPLATE)
        im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
        manifest["models"][mname] = {"dir": mname, "im_end": im_end}
        entries = {}
        for cname, msgs in chats.items():
            text = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
            images = [Image.open(os.path.join(out, c["image"])) for m in msgs if not isinstance(m["content"], str)
                      for c in m["content"] if c["type"] == "image"]
            inputs = processor(text=[text], images=images or None, return_tensors="pt")
            with torch.no_grad():
                logits = model(**inputs).logits[0].float()
                gen = model.generate(**inputs, max_new_tokens=8, do_sample=False, eos_token_id=im_end,
                                     pad_token_id=base)
            cont = gen[0, inputs["input_ids"].shape[1]:].tolist()
            tensors = {"logits": logits.contiguous()}
            if "pixel_values" in inputs:
                tensors["pixel_values"] = inputs["pixel_values"].float().contiguous()
            key = f"{mname}.{cname}"
            save_file(tensors, os.path.join(out, f"{key}.safetensors"))
            entries[cname] = {"input_ids": inputs["input_ids"][0].tolist(), "greedy": cont,
                              "image_grid_thw": inputs["image_grid_thw"].tolist() if images else [],
                              "tensors": f"{key}.safetensors"}
        manifest["chats"][mname] = entries

        # Left-padded batch of three chats of different lengths, greedy-generated together.
        texts = [processor.apply_chat_template(chats[c], add_generation_prompt=True, tokenize=False)
                 for c in ["one_image", "text_only", "several_images"]]
        batch_images = [Image.open(os.path.join(out, p)) for p in ["square.png", "small.png", "wide.png", "exact.png"]]
        tokenizer.padding_side = "left"
        inputs = processor(text=texts, images=batch_images, padding=True, return_tensors="pt")
        with torch.no_grad():
            gen = model.generate(**inputs, max_new_tokens=6, do_sample=False, eos_token_id=im_end, pad_token_id=base)
        width = inputs["input_ids"].shape[1]
        manifest["batch"][mname] = {"chats": ["one_image", "text_only", "several_images"],
                                    "greedy": [row[width:].tolist() for row in gen]}

        # A video of three frames (odd: the last frame is repeated) between two texts. transformers' video
        # processor needs torchvision, so the pixels come from the image processor's video path and the pad is
        # expanded here, as the processor would.
        frames = [Image.open(os.path.join(out, f"frame{i}.png")) for i in range(3)]
        vid = image_processor(images=None, videos=[frames], return_tensors="pt")
        n_tokens = int(vid["video_grid_thw"][0].prod()) // 4
        text = processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "text", "text": "Where am I?"}, {"type": "video", "video": "v"},
                                          {"type": "text", "text": "Go."}]}],
            add_generation_prompt=True, tokenize=False)
        text = text.replace("<|video_pad|>", "<|video_pad|>" * n_tokens)
        ids = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            logits = model(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"],
                           pixel_values_videos=vid["pixel_values_videos"],
                           video_grid_thw=vid["video_grid_thw"]).logits[0].float()
        save_file({"logits": logits.contiguous(), "pixel_values_videos": vid["pixel_values_videos"].float().contiguous()},
                  os.path.join(out, f"{mname}.video.safetensors"))
        manifest["video"][mname] = {"input_ids": ids["input_ids"][0].tolist(),
                                    "video_grid_thw": vid["video_grid_thw"].tolist(),
                                    "frames": [f"frame{i}.png" for i in range(3)],
                                    "tensors": f"{mname}.video.safetensors"}

    json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"), indent=1)


if __name__ == "__main__":
    torch.set_num_threads(2)
    main(sys.argv[1])
