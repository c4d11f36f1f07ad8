#!/usr/bin/env bash
# The GPU check, one script (about 6 minutes on an H100/H200; budget 8): the devices libtorch sees, logits on
# cuda vs cpu for the tiny and small checkpoints, the SFT step time against transformers
# (sft/bench/gpu_step_time.sh), the GRPO step time (scripts/gpu/rft_step_time.sh), and closed-loop eval
# episodes/hour with a Qwen2-VL-2B-shaped model.
# Run from the repository root on the GPU machine with the carried release binary (no Rust, no network there;
# python3 has torch 2.11, transformers, safetensors, pillow):
#   bash scripts/gpu/check.sh [OUT]                 (report: OUT/check.txt; default out/gpu-check)
#   bash scripts/gpu/check.sh --smoke [OUT]         CPU smoke mode (tiny model, cpu, a few steps): checks the
#                                                   script itself; CI runs it with the debug binary
# Overrides: VLN_R1_BIN (target/release/vln-r1), PYTHON (python3; .venv/bin/python when present in smoke mode).
# Exits non-zero when a step fails or the cuda and cpu logits differ by more than 1e-3.
set -euo pipefail
cd "$(dirname "$0")/../.."
smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
out="${1:-out/gpu-check}"
bin="${VLN_R1_BIN:-target/release/vln-r1}"
if [ "$smoke" = 1 ] && [ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; fi
py="${PYTHON:-python3}"
[ -x "$bin" ] || { echo "check.sh: no $bin: build it (cargo build --release) where Rust is, and carry it" >&2; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
if [ "$smoke" = 1 ]; then
  device=cpu; big=tiny; logit_presets="tiny"; sft_steps=1; sft_batch=1
  eval_args=(--episodes 2 --envs 2 --max-steps 12 --width 56 --height 56)
  export PRESET=tiny DEVICE=cpu PRECISION=f32 DTYPE=float32
else
  device=cuda; big=2b; logit_presets="tiny small"; sft_steps=10; sft_batch=2
  eval_args=(--episodes 16 --envs 16 --max-steps 120 --width 224 --height 224)
  unset PRESET DEVICE PRECISION DTYPE
fi
export VLN_R1_BIN="$bin" PYTHON="$py"
rm -rf "$out"; mkdir -p "$out"
report="$out/check.txt"
started=$SECONDS
section() { echo "== $1 ($((SECONDS - started)) s)"; }
{
  section "devices"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  "$bin" model devices
  if [ "$smoke" = 0 ] && ! "$bin" model devices | grep -q "cuda_available=true"; then
    echo "check.sh: libtorch sees no CUDA device" >&2; exit 1
  fi

  section "logits, $device vs cpu (float32, same checkpoint and chat)"
  "$py" - "$out/chat" <<'PY'
import json, os, sys
from PIL import Image
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
for k in range(3):
    Image.new("RGB", (112, 112), (40 * k, 90, 200 - 50 * k)).save(f"{d}/f{k}.png")
content = [{"type": "text", "text": "Walk past the couch and stop at the fridge. History: "}]
content += [{"type": "image", "image": f"f{k}.png"} for k in range(3)]
content += [{"type": "text", "text": " What next?"}]
json.dump([{"role": "user", "content": content}], open(f"{d}/messages.json", "w"))
PY
  for preset in $logit_presets; do
    "$bin" model init --preset "$preset" --out "$out/$preset" --seed 0 >/dev/null
    for dev in cpu "$device"; do
      "$bin" model forward --model "$out/$preset" --messages "$out/chat/messages.json" --add-generation-prompt \
        --device "$dev" --dtype float32 --out "$out/logits-$preset-$dev.safetensors" >/dev/null
    done
    "$py" - "$out/logits-$preset-cpu.safetensors" "$out/logits-$preset-$device.safetensors" "$preset" <<'PY'
import sys
from safetensors.torch import load_file
a, b = load_file(sys.argv[1])["logits"], load_file(sys.argv[2])["logits"]
diff = (a - b).abs().max().item()
same = bool((a.argmax(-1) == b.argmax(-1)).all())
print(f"{sys.argv[3]}: {tuple(a.shape)} logits, max |cpu - other| = {diff:.2e}, same argmax everywhere: {same}")
sys.exit(0 if diff <= 1e-3 else 1)
PY
  done

  # One $big-shaped checkpoint serves the SFT, GRPO and eval sections (a 2b init writes ~4 GB).
  "$bin" model init --preset "$big" --out "$out/sft/$big" --seed 0 >/dev/null

  section "SFT step time, vln-r1 vs transformers"
  bash sft/bench/gpu_step_time.sh "$out/sft" "$sft_steps" "$sft_batch"

  section "GRPO step time"
  CKPT="$out/sft/$big" bash scripts/gpu/rft_step_time.sh "$out/rft"

  section "eval episodes/hour, $big-shaped model (random weights; STOP biased away so episodes run to the cap)"
  "$bin" eval --split val_unseen --policy "model:$out/sft/$big" --device "$device" "${eval_args[@]}" \
    --memory long-short:4,1,4,4 --execute 6 --stop-bias -10000 --out "$out/eval" | tee "$out/eval.txt"
  "$py" - "$out/eval.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"(\d+) episodes run in ([\d.]+) s \(([\d.]+) episodes/s, (\d+) steps/s", text)
if not m:
    sys.exit("no throughput line in the eval output")
eps, secs, per_s, steps = int(m[1]), float(m[2]), float(m[3]), int(m[4])
print(f"eval: {per_s * 3600:.0f} episodes/hour at this step cap, {steps} steps/s; "
      f"{steps * 3600 / 500:.0f} episodes/hour for 500-step episodes")
PY
  section "done"
} 2>&1 | tee "$report"
