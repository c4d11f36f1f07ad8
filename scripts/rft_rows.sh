#!/usr/bin/env bash
# The three val_unseen rows of the RFT issue, same eval and seed for each: the SFT model, + offline GRPO over the
# SFT data store, + closed-loop GRPO on train. Frame size, FOV and memory sampler are read from the store's
# datagen.json so that RFT and eval show the model what SFT trained it on.
#   scripts/rft_rows.sh SFT_MODEL DATA_STORE OUT [EPISODES] [OFFLINE_CONFIG] [ONLINE_CONFIG]
# Defaults: the first 20 val_unseen episodes (CPU time), scripts/rft_{offline,online}_tiny.json; MAX_STEPS=N
# caps eval episodes (default 500, VLN-CE's); EXECUTE=K runs K of the N predicted actions per decision (default 6,
# as the demo; 1 re-plans every step at six times the CPU cost).
# Each step resumes if rerun (rft and eval both resume from OUT).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source scripts/bootstrap.sh >/dev/null
SFT="$1"; DATA="$2"; OUT="$3"; EPISODES="${4:-20}"
OFF_CFG="${5:-scripts/rft_offline_tiny.json}"; ON_CFG="${6:-scripts/rft_online_tiny.json}"
BIN="${VLN_R1_BIN:-target/release/vln-r1}"
[ -x "$BIN" ] || cargo build --release --bin vln-r1
read -r W H FOV MEM < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["config"]
print(c["width"], c["height"], c["hfov_deg"], c["memory"])' "$DATA/datagen.json")
mkdir -p "$OUT"
FRAMES=(--width "$W" --height "$H" --hfov "$FOV")
# One environment per episode: the policy generates for all of them in one batch (what makes CPU eval bearable).
EVAL=(eval --split val_unseen --seed 0 --episodes "$EPISODES" --envs "$EPISODES" --max-steps "${MAX_STEPS:-500}"
  --memory "$MEM" --execute "${EXECUTE:-6}" --device cpu "${FRAMES[@]}")
# The online config's memory and the expert's stop radius must be the store's too.
python3 -c '
import json, sys
c = json.load(open(sys.argv[1])); c.setdefault("online", {})["memory"] = sys.argv[2]
r = json.load(open(sys.argv[4]))["config"].get("stop_radius")
if r is not None: c["online"]["stop_radius"] = r
json.dump(c, open(sys.argv[3], "w"), indent=1)' "$ON_CFG" "$MEM" "$OUT/rft_online.json" "$DATA/datagen.json"

run() { echo "+ $*" >&2; /usr/bin/time -f "  (%e s)" "$@"; }
run "$BIN" "${EVAL[@]}" --policy "model:$SFT" --out "$OUT/eval-sft"
run "$BIN" rft --data "$DATA" --model "$SFT" --out "$OUT/rft-offline" --config "$OFF_CFG" --threads 1
run "$BIN" "${EVAL[@]}" --policy "model:$OUT/rft-offline/final" --out "$OUT/eval-offline"
run "$BIN" rft --online --split train --model "$SFT" --out "$OUT/rft-online" --config "$OUT/rft_online.json" \
  "${FRAMES[@]}" --threads 1
run "$BIN" "${EVAL[@]}" --policy "model:$OUT/rft-online/final" --out "$OUT/eval-online"

python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
print(f"{'row':<22}{'episodes':>9}{'SR':>7}{'OSR':>7}{'SPL':>7}{'NE':>8}{'steps':>8}")
for name, d in [("SFT", "eval-sft"), ("+ offline RFT", "eval-offline"), ("+ closed-loop RFT", "eval-online")]:
    m = json.load(open(os.path.join(out, d, "metrics.json")))["metrics"]
    ne = "n/a" if m["ne"] is None else f"{m['ne']:.2f}"
    print(f"{name:<22}{m['episodes']:>9}{m['sr']:>7.3f}{m['osr']:>7.3f}{m['spl']:>7.3f}{ne:>8}{m['steps']:>8.1f}")
PY
