#!/usr/bin/env bash
# Runs every test of the workspace. Installs the torch venv first when missing (see scripts/bootstrap.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bootstrap.sh
cargo test --workspace --locked "$@"
