#!/usr/bin/env bash
# Trains the committed navigator (agent/checkpoints/tiny-nav) from scratch on the shipped train split (and more
# routes generated in its houses), the VLN-R1 way plus the shared buffer:
#   1. datagen: the expert's gt replays and perturbed expert runs (recovery states), labels that stop within
#      1.5 m of the goal, 112x112 frames, one history frame;
#   2. model init --preset tiny;
#   3. sft on that store (next-action balanced), one epoch, then two more from it (sft2);
#   3b. more routes in the same train houses (an augmented train split, as VLN-CE trains on R2R's augmented
#      data): `episodes generate` draws 200 new episodes per train house, clear of val_seen's routes, and sft-aug
#      trains from sft2 on their gt replays;
#   4. ROUNDS (default 0) stages of per-decision closed-loop rounds (`rft --online --groups decision`,
#      scripts/navigator_round.json): off by default, they turn a walking navigator into one that turns in place
#      (docs/training.md);
#   5. after each stage, eval on the first 60 val_seen episodes (the learning curve; val_unseen is never used
#      to choose anything);
#   6. publish: the stage and STOP bias (of $BIASES) best together on all 120 val_seen episodes (SR, then OSR,
#      then NE), with its logs, into agent/checkpoints/tiny-nav (or $PUBLISH);
#   7. the RFT stage from the published navigator over whole episodes (scripts/train_rft.sh, run directory
#      RUN_DIR/rft), published to agent/checkpoints/tiny-nav-rft.
#
# Usage: scripts/train_navigator.sh [RUN_DIR]   (default $VLN_NAV_RUN or ~/runs/tiny-nav)
# RUN_DIR should live outside the work tree: every stage resumes from what is there, so an interrupted run
# (or one continued in a later session) is the same command again. Env: ROUNDS (per-decision stages, 0),
# ROUND_STEPS (GRPO rounds per stage, 150), SFT_STEPS (12000), SFT2_STEPS (24000), AUG_STEPS (16000), BIASES
# ("0 0.5 1 1.5"), THREADS (2), BIN (the CLI; default: build the release binary), SKIP_PUBLISH=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=${1:-${VLN_NAV_RUN:-$HOME/runs/tiny-nav}}
ROUNDS=${ROUNDS:-0}
ROUND_STEPS=${ROUND_STEPS:-150}
SFT_STEPS=${SFT_STEPS:-12000}
SFT2_STEPS=${SFT2_STEPS:-24000}
AUG_STEPS=${AUG_STEPS:-16000}
BIASES=${BIASES:-0 0.5 1 1.5}
THREADS=${THREADS:-2}
PUBLISH=${PUBLISH:-$ROOT/agent/checkpoints/tiny-nav}
if [ -z "${BIN:-}" ]; then
  . scripts/bootstrap.sh
  cargo build --release --locked
  BIN=$ROOT/target/release/vln-r1
fi
# libtorch's OpenMP threads spin-wait by default, which costs 10x on a machine whose cores are shared.
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$THREADS
mkdir -p "$RUN"
log() { echo "== $(date -u +%FT%TZ) $*" | tee -a "$RUN/train.log"; }
stage() { # stage NAME CMD...: runs CMD unless RUN/NAME.done exists; records the command and its wall time.
  local name=$1; shift
  # A training stage is done only once its final model exists (a killed run may have left the marker).
  case $name in sft* | round*) [ -d "$RUN/$name/final" ] || rm -f "$RUN/$name.done" ;; esac
  [ -f "$RUN/$name.done" ] && { log "$name: done before"; return; }
  log "$name: $*"
  local t0=$SECONDS
  "$@" 2>&1 | tee -a "$RUN/$name.log"
  log "$name: finished in $((SECONDS - t0)) s"
  touch "$RUN/$name.done"
}
FRAMES=(--width 112 --height 112)
SEEN=(eval --split val_seen --envs 60 --max-steps 500 --seed 0 --execute 6 --device cpu) # all 120 episodes
EVAL=("${SEEN[@]}" --episodes 60)

stage datagen "$BIN" datagen --split train "${FRAMES[@]}" --memory long-short:1,1,1,1 \
  --perturbed-runs 4 --stop-radius 1.5 --out "$RUN/data"
stage init "$BIN" model init --preset tiny --out "$RUN/init"
stage sft "$BIN" sft --data "$RUN/data" --model "$RUN/init" --out "$RUN/sft" \
  --config sft/configs/tiny-cpu.json --threads "$THREADS" --max-steps "$SFT_STEPS" \
  --next-action-balance 0.5 --eval-steps 1000 --save-steps 500 --save-total-limit 2
stage eval-sft "$BIN" "${EVAL[@]}" --policy "model:$RUN/sft/final" --out "$RUN/eval/sft"
# Two more epochs from it (another data order, lr restarted at half): one epoch leaves P(STOP) unable to tell the
# stop frames from the others (scripts/probe_stop.py: ROC AUC 0.59 on val_seen), and a frames-only CNN needed ~3
# epochs of the same data for 0.75.
stage sft2 "$BIN" sft --data "$RUN/data" --model "$RUN/sft/final" --out "$RUN/sft2" \
  --config sft/configs/tiny-cpu.json --threads "$THREADS" --max-steps "$SFT2_STEPS" --learning-rate 5e-4 \
  --warmup-ratio 0.02 --seed 43 --next-action-balance 0.5 --eval-steps 2000 --save-steps 500 --save-total-limit 2
stage eval-sft2 "$BIN" "${EVAL[@]}" --policy "model:$RUN/sft2/final" --out "$RUN/eval/sft2"
# 240 instructions are too few to ground words in frames: 2,400 more routes in the train houses (none within 1.5 m,
# start and goal, of a val_seen route, so that choosing on val_seen stays fair), their gt replays, SFT from sft2.
stage aug-episodes "$BIN" episodes generate --out "$RUN/aug" --seed 1 --per-scene 200 --val-seen-per-scene 0 \
  --val-unseen-per-scene 0 --avoid habitat_assets/data/R2R_VLNCE_shipped/val_seen
stage aug-datagen "$BIN" datagen --dataset "$RUN/aug" --split train "${FRAMES[@]}" --memory long-short:1,1,1,1 \
  --stop-radius 1.5 --out "$RUN/aug-data"
stage sft-aug "$BIN" sft --data "$RUN/aug-data" --model "$RUN/sft2/final" --out "$RUN/sft-aug" \
  --config sft/configs/tiny-cpu.json --threads "$THREADS" --max-steps "$AUG_STEPS" --learning-rate 5e-4 \
  --warmup-ratio 0.02 --seed 45 --next-action-balance 0.5 --eval-steps 2000 --save-steps 1000 --save-total-limit 0
stage eval-sft-aug "$BIN" "${EVAL[@]}" --policy "model:$RUN/sft-aug/final" --out "$RUN/eval/sft-aug"

# The round config with this run's length (a resumed round must see the same config).
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["max_steps"]=int(sys.argv[2]); json.dump(c,open(sys.argv[3],"w"),indent=1)' \
  scripts/navigator_round.json "$ROUND_STEPS" "$RUN/round.json"
prev=$RUN/sft-aug/final
for r in $(seq 1 "$ROUNDS"); do
  stage "round$r" "$BIN" rft --online --split train --model "$prev" --out "$RUN/round$r" \
    --config "$RUN/round.json" "${FRAMES[@]}" --threads "$THREADS"
  stage "eval-round$r" "$BIN" "${EVAL[@]}" --policy "model:$RUN/round$r/final" --out "$RUN/eval/round$r"
  prev=$RUN/round$r/final
done

log "learning curve (val_seen, first 60 episodes):"
for d in "$RUN"/eval/*/; do
  python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"metrics.json"))["metrics"]; print(sys.argv[2], {k: round(m[k], 3) for k in ("sr","osr","spl","ne","tl","collisions")})' \
    "$d" "$(basename "$d")" | tee -a "$RUN/train.log"
done
# What to publish: the stage and STOP bias (a logit added to STOP) best on all 120 val_seen episodes (SR, then OSR,
# then the lower NE): a stage that walks well may need its own bias to stop, so stage and bias are chosen together.
# val_unseen chooses nothing.
for st in sft sft2 sft-aug $(seq -f "round%g" 1 "$ROUNDS"); do
  for b in $BIASES; do
    stage "bias-$st-$b" "$BIN" "${SEEN[@]}" --policy "model:$RUN/$st/final" --stop-bias "$b" --out "$RUN/bias/$st/$b"
  done
done
read -r best bias < <(python3 - "$RUN/bias" 2> >(tee -a "$RUN/train.log" >&2) <<'PY'
import json, os, sys
root = sys.argv[1]
def key(run):
    m = json.load(open(f"{root}/{run[0]}/{run[1]}/metrics.json"))["metrics"]
    return (m["sr"], m["osr"], -m["ne"])
runs = [(s, b) for s in sorted(os.listdir(root)) for b in sorted(os.listdir(f"{root}/{s}"), key=float)
        if os.path.exists(f"{root}/{s}/{b}/metrics.json")]
for run in runs:
    sr, osr, ne = key(run)
    print(f"val_seen (120) {run[0]} stop bias {run[1]}: SR {sr:.3f} OSR {osr:.3f} NE {-ne:.2f}", file=sys.stderr)
print(*max(runs, key=key))
PY
)
best_dir=$RUN/$best/final
log "best on val_seen: $best ($best_dir) with stop bias $bias"
if [ -z "${SKIP_PUBLISH:-}" ]; then
  rm -rf "$PUBLISH.tmp" && mkdir -p "$PUBLISH.tmp/metrics"
  cp "$best_dir"/* "$PUBLISH.tmp/"
  # Run as it was evaluated here: N actions per decision (closed-loop rounds record their own).
  python3 -c 'import json,sys; p=sys.argv[1]; n=json.load(open(p)); n.setdefault("execute", 6); n["stop_bias"]=float(sys.argv[2]); json.dump(n, open(p, "w"), indent=2)' \
    "$PUBLISH.tmp/navigation.json" "$bias"
  cp "$RUN/train.log" "$PUBLISH.tmp/training_log.txt"
  cp "$RUN/$best/metrics.jsonl" "$PUBLISH.tmp/metrics/$best.jsonl"
  rm -rf "$PUBLISH" && mv "$PUBLISH.tmp" "$PUBLISH"
  log "published $best_dir to $PUBLISH"
fi
# The RFT stage of the navigator just published (or of the one already there with SKIP_PUBLISH).
BIN=$BIN THREADS=$THREADS scripts/train_rft.sh "$PUBLISH" "$RUN/rft"
