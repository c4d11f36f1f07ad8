#!/usr/bin/env bash
# The RFT stage of a navigator: closed-loop GRPO over whole episodes (`rft --online --groups episode`,
# scripts/navigator_episode_round.json) from NAVIGATOR on the train split, every checkpoint evaluated on all 120
# val_seen episodes (the learning curve; the checkpoint's own STOP bias, greedy as eval runs), and the best
# checkpoint there (SR, then OSR, then the lower NE; never val_unseen) published to agent/checkpoints/tiny-nav-rft
# with its log. Every stage resumes: an interrupted run is the same command again.
#
# Usage: scripts/train_rft.sh [NAVIGATOR] [RUN_DIR]
#   NAVIGATOR: default agent/checkpoints/tiny-nav; RUN_DIR: default $VLN_RFT_RUN or ~/runs/tiny-nav-rft (outside
#   the work tree). Env: ROUNDS (the config's max_steps), LR (the config's learning_rate), THREADS (2), BIN (the
#   CLI; default: build the release binary), SKIP_PUBLISH=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NAV=$(realpath "${1:-agent/checkpoints/tiny-nav}")
RUN=${2:-${VLN_RFT_RUN:-$HOME/runs/tiny-nav-rft}}
THREADS=${THREADS:-2}
PUBLISH=${PUBLISH:-$ROOT/agent/checkpoints/tiny-nav-rft}
if [ -z "${BIN:-}" ]; then
  . scripts/bootstrap.sh
  cargo build --release --locked
  BIN=$ROOT/target/release/vln-r1
fi
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$THREADS
mkdir -p "$RUN"
log() { echo "== $(date -u +%FT%TZ) $*" | tee -a "$RUN/train.log"; }
# The round config with this run's overrides (a resumed run must see the same config).
python3 - scripts/navigator_episode_round.json "$RUN/round.json" "${ROUNDS:-}" "${LR:-}" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
if sys.argv[3]: c["max_steps"] = int(sys.argv[3])
if sys.argv[4]: c["learning_rate"] = float(sys.argv[4])
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY
SEEN=(eval --split val_seen --envs 60 --max-steps 500 --seed 0 --device cpu) # all 120 episodes

log "rft from $NAV: $BIN rft --online --groups episode --config $RUN/round.json"
"$BIN" rft --online --groups episode --split train --model "$NAV" --out "$RUN/rft" --config "$RUN/round.json" \
  --threads "$THREADS" 2>&1 | tee -a "$RUN/rft.log"
# The learning curve: the navigator itself (round 0), then every checkpoint.
"$BIN" "${SEEN[@]}" --policy "model:$NAV" --out "$RUN/eval/checkpoint-0" | tee -a "$RUN/eval.log"
for ck in "$RUN"/rft/checkpoint-*; do
  "$BIN" "${SEEN[@]}" --policy "model:$ck" --out "$RUN/eval/$(basename "$ck")" | tee -a "$RUN/eval.log"
done
read -r best < <(python3 - "$RUN/eval" 2> >(tee -a "$RUN/train.log" >&2) <<'PY'
import json, os, sys
root = sys.argv[1]
def key(name):
    m = json.load(open(f"{root}/{name}/metrics.json"))["metrics"]
    return (m["sr"], m["osr"], -m["ne"])
runs = sorted((d for d in os.listdir(root) if os.path.exists(f"{root}/{d}/metrics.json")),
              key=lambda d: int(d.split("-")[1]))
for r in runs:
    m = json.load(open(f"{root}/{r}/metrics.json"))["metrics"]
    print(f"val_seen (120) {r}: SR {m['sr']:.3f} OSR {m['osr']:.3f} NE {m['ne']:.2f} SPL {m['spl']:.3f} "
          f"TL {m['tl']:.2f}", file=sys.stderr)
print(max((r for r in runs if r != "checkpoint-0"), key=key))
PY
)
log "best on val_seen: $best"
if [ -z "${SKIP_PUBLISH:-}" ]; then
  rm -rf "$PUBLISH.tmp" && mkdir -p "$PUBLISH.tmp"
  for f in "$RUN/rft/$best"/*; do
    case $(basename "$f") in optimizer.* | trainer_state.json) ;; *) cp "$f" "$PUBLISH.tmp/" ;; esac
  done
  { echo "RFT (episode groups) from $NAV, $best chosen on all 120 val_seen episodes"; cat "$RUN/train.log"
    echo "== config"; cat "$RUN/round.json"; echo "== rounds"; cat "$RUN/rft/metrics.jsonl"; } > "$PUBLISH.tmp/training_log.txt"
  rm -rf "$PUBLISH" && mv "$PUBLISH.tmp" "$PUBLISH"
  log "published $RUN/rft/$best to $PUBLISH"
fi
