#!/usr/bin/env python3
"""Writes a small vln-r1 sample store (the format of episodes::store) with synthetic frames, for timing GRPO
steps where the simulator-made store is not at hand. Standard library only (PNG via zlib).

usage: make_rft_store.py OUT_DIR [--samples 16] [--history 8] [--size 224]
"""
import argparse, json, os, random, struct, zlib


def png(path, w, h, seed):
    rnd = random.Random(seed)
    base = [rnd.randrange(256) for _ in range(3)]
    rows = b"".join(
        b"\x00" + bytes(((base[c] + 3 * x + 5 * y) & 255) for x in range(w) for c in range(3))
        for y in range(h)
    )
    def chunk(tag, data):
        c = tag + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--history", type=int, default=8)
    ap.add_argument("--size", type=int, default=224)
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out, "frames"), exist_ok=True)
    nframes = a.history + 1
    for k in range(nframes):
        png(os.path.join(a.out, "frames", f"f{k:03d}.png"), a.size, a.size, k)
    actions = [0, 1, 2, 3]  # Habitat ids: STOP, MOVE_FORWARD, TURN_LEFT, TURN_RIGHT
    rnd = random.Random(0)
    lines, offsets = b"", [0]
    for i in range(a.samples):
        sample = {
            "episode_id": str(i), "step": a.history,
            "instruction": "Walk past the couch into the kitchen and stop next to the fridge.",
            "history_frames": [f"frames/f{k:03d}.png" for k in range(a.history)],
            "current_frame": f"frames/f{a.history:03d}.png",
            "prompt": {"forward_step_m": 0.25, "turn_angle_deg": 15.0, "num_actions": 6},
            "target": [rnd.choice(actions) for _ in range(6)],
        }
        lines += json.dumps(sample).encode() + b"\n"
        offsets.append(len(lines))
    with open(os.path.join(a.out, "shard-000000.jsonl"), "wb") as f:
        f.write(lines)
    with open(os.path.join(a.out, "shard-000000.idx"), "wb") as f:
        f.write(b"".join(struct.pack("<Q", o) for o in offsets))
    manifest = {"format": "vln-r1-sample-store", "version": 1,
                "shards": [{"number": 0, "samples": a.samples, "bytes": len(lines)}]}
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump(manifest, f)


if __name__ == "__main__":
    main()
