#!/usr/bin/env bash
# GRPO step time for a Qwen2-VL-2B-shaped model on one GPU, driving the carried release binary.
# Run from the repository root on the GPU machine (carry target/release/vln-r1):
#   bash scripts/gpu/rft_step_time.sh [OUT]          (writes OUT/rft_step_time.txt; default $OUT or ./out/gpu)
# Setting: G=8, 2 prompts per round, 8 history frames + 1 current at 224x224, 64 new tokens max, bf16,
# beta 0.04 (reference model loaded), micro-batch 4, mu=1; 3 rounds (the first includes CUDA warm-up).
# Overrides: CKPT (an existing checkpoint of that shape; default: init one), VLN_R1_BIN, PYTHON, PRESET (2b),
# DEVICE (cuda), DTYPE (bfloat16). `PRESET=tiny DEVICE=cpu DTYPE=float32 PYTHON=.venv/bin/python` is the CPU smoke run that checks the script itself.
set -euo pipefail
OUT_DIR="${1:-${OUT:-out/gpu}}"
mkdir -p "$OUT_DIR"
WORK="$(mktemp -d)"
# The run's checkpoints and store hold tens of GB for a 2b model: the report is all that stays.
trap 'rm -rf "$WORK"' EXIT
BIN="${VLN_R1_BIN:-target/release/vln-r1}"; PY="${PYTHON:-python3}"
PRESET="${PRESET:-2b}"; DEVICE="${DEVICE:-cuda}"; DTYPE="${DTYPE:-bfloat16}"
[ -x "$BIN" ] || { echo "no $BIN: build it (cargo build --release) where Rust is, and carry it" >&2; exit 1; }
# libtorch comes from the machine's torch install (the binary was linked with LIBTORCH_USE_PYTORCH).
TORCH_LIB="$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LD_LIBRARY_PATH="$TORCH_LIB:${LD_LIBRARY_PATH:-}"
REPORT="$OUT_DIR/rft_step_time.txt"
# Wall time of a command (bash's own clock: /usr/bin/time is not on every machine).
timed() { local label=$1 t0=$EPOCHREALTIME; shift; "$@"; echo "$label $(python3 -c "print(f'{$EPOCHREALTIME - $t0:.1f}')") s"; }
{
  echo "== device"; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  "$BIN" model devices
  CKPT="${CKPT:-$WORK/ckpt}"
  if [ ! -f "$CKPT/model.safetensors" ]; then
    echo "== init $PRESET-shaped checkpoint"
    timed "init" "$BIN" model init --preset "$PRESET" --out "$CKPT" --seed 0
  fi
  "$PY" scripts/gpu/make_rft_store.py "$WORK/store" --samples 6 --history 8 --size 224
  cat > "$WORK/rft.json" <<JSON
{"num_generations": 8, "prompts_per_step": 2, "micro_batch_size": 4, "num_iterations": 1,
 "max_completion_length": 64, "beta": 0.04, "loss_type": "grpo", "learning_rate": 1e-6,
 "max_steps": 3, "save_steps": 0, "seed": 0}
JSON
  echo "== offline GRPO, 3 rounds"
  timed "rft wall" "$BIN" rft --data "$WORK/store" --model "$CKPT" \
    --out "$WORK/run" --config "$WORK/rft.json" --device "$DEVICE" --dtype "$DTYPE"
  echo "== per-round log (generate_s = sampling G completions, optimize_s = forward/backward/AdamW)"
  cat "$WORK/run/metrics.jsonl"
  nvidia-smi --query-gpu=memory.used --format=csv,noheader 2>/dev/null || true
} 2>&1 | tee "$REPORT"
