#!/usr/bin/env python3
"""Can the next expert action be predicted from the frames at all? A check of a datagen store's labels,
independent of the VLM.

    .venv/bin/python scripts/probe_labels.py STORE [EPOCHS] [VAL_STORE]

Trains a small CNN (torch, CPU, seed 0) on (current frame, most recent history frame), downsampled to 56x56, to
predict the first target action, holding out 10% of the episodes, and prints held-out accuracy per epoch next
to the majority-class rate, then the held-out confusion matrix. It also prints how often the expert repeats its
previous action. A held-out accuracy near the majority rate means the labels hinge on things the frames do not
show, and no policy trained on them can do much better than the action prior.

With VAL_STORE (e.g. a `datagen --split val_seen` store: other episodes) it also prints accuracy on that store's
gt-replay samples and the ROC AUC of the CNN's P(STOP) between its stop frames and the other frames: what the
frames alone say about where to stop (compare `probe_stop.py`'s AUC for a checkpoint on the same store).
"""
import json
import random
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

LETTERS = {"A": 0, "B": 1, "C": 2, "D": 3}


def load(store, gt_only=False):
    samples = json.load(open(f"{store}/vln_ego.json"))
    if gt_only:
        samples = [s for s in samples if "@p" not in s["images"][-1]]
    frames, labels, episodes = [], [], []
    for s in samples:
        images = s["images"]
        cur = np.asarray(Image.open(f"{store}/{images[-1]}").convert("RGB").resize((56, 56)))
        prev = np.asarray(Image.open(f"{store}/{images[-2]}").convert("RGB").resize((56, 56))) if len(images) > 1 else cur
        frames.append(np.concatenate([cur, prev], 2))
        labels.append(LETTERS[s["conversations"][1]["value"][0]])
        episodes.append(images[-1].split("/")[1])  # frames/<episode>/step_<i>.jpg
    x = torch.tensor(np.stack(frames)).permute(0, 3, 1, 2).float() / 255
    return x, torch.tensor(labels), episodes


def persistence(labels, episodes):
    same = total = 0
    for i in range(1, len(labels)):
        if episodes[i] == episodes[i - 1]:
            total += 1
            same += int(labels[i] == labels[i - 1])
    return same / max(total, 1)


def auc(pos, neg):
    """ROC AUC: the share of (positive, negative) pairs the score orders right, ties counted half."""
    pos, neg = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((pos > neg) + 0.5 * (pos == neg)).mean())


def report_val(net, xv, yv, majority_class, name):
    with torch.no_grad():
        logits = torch.cat([net(xv[i:i + 512]) for i in range(0, len(yv), 512)])
    p_stop = logits.softmax(1)[:, 3].numpy()
    stop = (yv == 3).numpy()
    print(f"    {name}: {len(yv)} gt samples, accuracy {(logits.argmax(1) == yv).float().mean().item():.3f} "
          f"(majority {(yv == majority_class).float().mean().item():.3f}); P(STOP) ROC AUC "
          f"{auc(p_stop[stop], p_stop[~stop]):.3f} ({int(stop.sum())} stop frames)")


def main(store, epochs, val_store=None):
    torch.manual_seed(0)
    random.seed(0)
    x, y, episodes = load(store)
    names = sorted(set(episodes))
    random.shuffle(names)
    held_names = set(names[: len(names) // 10])
    held = torch.tensor([e in held_names for e in episodes])
    print(f"{len(y)} samples, {int(held.sum())} held out ({len(held_names)} episodes); "
          f"expert repeats its previous action {persistence(y.tolist(), episodes):.3f} of the time")
    net = nn.Sequential(nn.Conv2d(6, 32, 5, 2, 2), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
                        nn.Conv2d(64, 64, 3, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                        nn.Linear(256, 4))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    xt, yt = x[~held], y[~held]
    majority_class = torch.bincount(yt).argmax()
    majority = (y[held] == majority_class).float().mean().item()
    val = load(val_store, gt_only=True) if val_store else None
    for epoch in range(epochs):
        order = torch.randperm(len(yt))
        for i in range(0, len(order), 64):
            b = order[i:i + 64]
            loss = nn.functional.cross_entropy(net(xt[b]), yt[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            pred = net(x[held]).argmax(1)
        print(f"epoch {epoch + 1} ({(epoch + 1) * len(yt)} samples seen): held-out accuracy "
              f"{(pred == y[held]).float().mean().item():.3f} (majority {majority:.3f})")
        if val:
            report_val(net, *val[:2], majority_class, val_store)
    confusion = torch.zeros(4, 4, dtype=torch.long)
    for t, p in zip(y[held].tolist(), pred.tolist()):
        confusion[t, p] += 1
    print("confusion, rows = target A/B/C/D, columns = predicted:", confusion.tolist())


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3, 4):
        sys.exit(__doc__)
    torch.set_num_threads(2)
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 6, sys.argv[3] if len(sys.argv) > 3 else None)
