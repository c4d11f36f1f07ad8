#!/usr/bin/env bash
# SFT step time of a Qwen2-VL-2B-shaped model on one GPU: `vln-r1 sft` against plain transformers + torch on
# the same checkpoint, samples, batch size and dtype (bf16).
# Runs on the GPU machine from the repository root with the carried release binary (that machine has no Rust and
# no network; its python3 has torch 2.11, transformers, safetensors, tokenizers, pillow):
#   bash sft/bench/gpu_step_time.sh [WORK_DIR] [STEPS] [BATCH]      (report: WORK_DIR/sft_step_time.txt)
# Overrides: VLN_R1_BIN, PYTHON, PRESET (2b), DEVICE (cuda), PRECISION (bf16 for vln-r1) and DTYPE (bfloat16 for
# transformers). `PRESET=tiny DEVICE=cpu PRECISION=f32 DTYPE=float32 PYTHON=.venv/bin/python` is the CPU smoke run
# that checks the script itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
work="${1:-out/bench-sft-gpu}"; steps="${2:-10}"; batch="${3:-2}"
bin="${VLN_R1_BIN:-target/release/vln-r1}"; py="${PYTHON:-python3}"
preset="${PRESET:-2b}"; device="${DEVICE:-cuda}"; precision="${PRECISION:-bf16}"; dtype="${DTYPE:-bfloat16}"
[ -x "$bin" ] || { echo "no $bin: build it (cargo build --release) where Rust is, and carry it" >&2; exit 1; }
mkdir -p "$work"
report="$work/sft_step_time.txt"
{
  echo "== device"; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  "$bin" model devices
  [ -f "$work/$preset/model.safetensors" ] || "$bin" model init --preset "$preset" --out "$work/$preset"
  # 224x224 frames, 8 history frames: 9 images x 64 tokens + ~250 text tokens per sample.
  [ -f "$work/data/manifest.json" ] || "$bin" datagen --split train --episodes 10 --width 224 --height 224 \
    --memory uniform:8 --out "$work/data"
  rm -rf "$work/sft"
  echo "== vln-r1 sft, $((steps + 1)) steps of batch $batch (the first is warm-up)"
  "$bin" sft --data "$work/data" --model "$work/$preset" --out "$work/sft" --device "$device" \
    --precision "$precision" --max-steps $((steps + 1)) --per-device-train-batch-size "$batch" \
    --gradient-accumulation-steps 1 --val-fraction 0 --save-steps 0 --learning-rate 5e-6 --warmup-ratio 0
  "$py" - "$work/sft/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"train"' in l][1:]
s = sum(r["seconds"] for r in rows)
print(json.dumps({"impl": "vln-r1", "steps": len(rows), "seconds_per_step": s / len(rows),
                  "samples_per_second": sum(r["samples"] for r in rows) / s,
                  "tokens_per_second": sum(r["tokens"] for r in rows) / s,
                  "tokens_per_sample": sum(r["tokens"] for r in rows) / sum(r["samples"] for r in rows)}))
PY
  # The run's checkpoints (a 2b model with its AdamW state is ~30 GB) are not needed once timed.
  mv "$work/sft/metrics.jsonl" "$work/sft_metrics.jsonl" && rm -rf "$work/sft"
  echo "== transformers + torch, same samples"
  "$py" sft/bench/transformers_step.py "$work/$preset" "$work/data" "$steps" "$batch" "$device" "$dtype"
} 2>&1 | tee "$report"
