#!/usr/bin/env bash
# The main job until the demo lands (issue 11): builds the release CLI and runs what works end to end on the
# shipped world: dataset checks, the three baselines on val_unseen (resumable evals), and recorded rollouts of
# the oracle (trajectory JSONL, top-down map PNG, egocentric GIF). Outputs go to out/main/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
cargo build --release --locked
bin=./target/release/vln-r1
out=out/main
$bin model devices
$bin episodes stats habitat_assets/data/R2R_VLNCE_shipped
for policy in random forward oracle; do
    $bin eval --split val_unseen --policy "$policy" --seed 0 --out "$out/eval-$policy"
done
$bin rollout --split val_unseen --policy oracle --episodes 2 --out "$out/rollout-oracle"
echo "artefacts: $out (eval-*/metrics.json, rollout-oracle/*/)"
