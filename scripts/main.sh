#!/usr/bin/env bash
# The main job. Until the demo lands (issue 11) it builds the release CLI and runs what works end to end:
# it validates and summarises the hand-made R2R-CE and RxR-CE fixtures through the release CLI,
# and reports the compute devices libtorch sees.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
cargo build --release --locked
./target/release/vln-r1 model devices
./target/release/vln-r1 episodes validate episodes/tests/fixtures/r2r
./target/release/vln-r1 episodes stats episodes/tests/fixtures/r2r
./target/release/vln-r1 episodes stats episodes/tests/fixtures/rxr
