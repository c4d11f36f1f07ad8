#!/usr/bin/env bash
# The main job: installs what it needs (the torch venv), builds the release CLI and runs the demo: the whole
# VLN-R1 loop on the shipped world (datagen, SFT, GRPO, evals against the baselines, rollouts, report).
# Extra arguments go to `vln-r1 demo` (e.g. --minutes 10, --out DIR). Rerunning reuses finished stages.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
cargo build --release --locked
./target/release/vln-r1 demo "$@"
