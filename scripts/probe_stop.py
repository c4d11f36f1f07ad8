#!/usr/bin/env python3
"""Can a checkpoint tell where to stop? A diagnostic for SFT runs that never (or always) call STOP.

    .venv/bin/python scripts/probe_stop.py CHECKPOINT STORE [STOP_SAMPLES] [OTHER_SAMPLES]

Takes gt-replay samples of a datagen store (`STORE/vln_ego.json`; best one made from episodes the checkpoint was
not trained on, e.g. `datagen --split val_seen`), STOP_SAMPLES (60) whose first target is STOP and OTHER_SAMPLES
(240) whose first target is not, seeded, and prints the ROC AUC of the model's probability of answering D (STOP)
first: 0.5 means P(STOP) does not know the stop frames from the others, 1.0 that one threshold separates them.
"""
import json
import random
import statistics
import sys

import torch
from PIL import Image

from probe_inputs import first_letter_probs, load
from probe_labels import auc


def main(ckpt, store, n_stop, n_other):
    model, processor, letter_ids = load(ckpt)
    samples = [s for s in json.load(open(f"{store}/vln_ego.json")) if "@p" not in s["images"][-1]]
    is_stop = lambda s: s["conversations"][1]["value"].startswith("D")
    stop, other = [s for s in samples if is_stop(s)], [s for s in samples if not is_stop(s)]
    rng = random.Random(0)
    scores = {True: [], False: []}
    for label, pool, n in ((True, stop, n_stop), (False, other, n_other)):
        for s in rng.sample(pool, min(n, len(pool))):
            frames = [Image.open(f"{store}/{p}").convert("RGB") for p in s["images"]]
            p = first_letter_probs(model, processor, letter_ids, s["conversations"][0]["value"], frames)
            scores[label].append(p[3].item())
    pos, neg = scores[True], scores[False]
    print(f"P(STOP first): stop frames median {statistics.median(pos):.4f}, other frames median "
          f"{statistics.median(neg):.4f}; ROC AUC {auc(pos, neg):.3f} ({len(pos)} stop / {len(neg)} other samples)")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4, 5):
        sys.exit(__doc__)
    torch.set_num_threads(2)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 60,
         int(sys.argv[4]) if len(sys.argv) > 4 else 240)
