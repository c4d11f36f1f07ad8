#!/usr/bin/env bash
# SFT step time of a Qwen2-VL-2B-shaped model on one GPU: `vln-r1 sft` against plain transformers + torch on
# the same checkpoint, samples, batch size and dtype (bf16). Needs a CUDA build of the workspace and the venv.
# Usage: sft/bench/gpu_step_time.sh [WORK_DIR] [STEPS] [BATCH]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/bootstrap.sh >/dev/null
work="${1:-out/bench-sft-gpu}"; steps="${2:-10}"; batch="${3:-2}"
cargo build --release -q
bin=target/release/vln-r1
mkdir -p "$work"
[ -f "$work/2b/model.safetensors" ] || "$bin" model init --preset 2b --out "$work/2b"
# 224x224 frames, 8 history frames: 9 images x 64 tokens + ~250 text tokens per sample.
[ -f "$work/data/manifest.json" ] || "$bin" datagen --split train --episodes 10 --width 224 --height 224 \
  --memory uniform:8 --out "$work/data"
rm -rf "$work/sft"
"$bin" sft --data "$work/data" --model "$work/2b" --out "$work/sft" --device cuda --precision bf16 \
  --max-steps $((steps + 1)) --per-device-train-batch-size "$batch" --gradient-accumulation-steps 1 \
  --val-fraction 0 --save-steps 0 --learning-rate 5e-6 --warmup-ratio 0
# Step 1 is the warm-up; the rest are averaged.
python - "$work/sft/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l][1:]
s = sum(r["seconds"] for r in rows)
print(json.dumps({"impl": "vln-r1", "steps": len(rows), "seconds_per_step": s / len(rows),
                  "samples_per_second": sum(r["samples"] for r in rows) / s,
                  "tokens_per_second": sum(r["tokens"] for r in rows) / s}))
PY
python sft/bench/transformers_step.py "$work/2b" "$work/data" "$steps" "$batch" cuda bfloat16
