#!/usr/bin/env bash
# Runs every test of the workspace, then builds the Python package (python/, `pip install ./python`) into
# its own small venv and runs its pytest suite. Installs the torch venv first when missing (see
# scripts/bootstrap.sh). Arguments go to `cargo test`; VLN_R1_SKIP_PYTHON=1 skips the Python part.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
cargo test --workspace --locked "$@"
if [ "${VLN_R1_SKIP_PYTHON:-0}" = 1 ]; then
  exit 0
fi
bash scripts/test_python.sh
