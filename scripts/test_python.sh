#!/usr/bin/env bash
# The Python package's part of scripts/test.sh: lints the bindings crate, builds and installs it into
# .venv-py (numpy, gymnasium, Ray, pytest, maturin; ~1 min the first time, instant afterwards) and runs
# python/tests. The Ray eval test compares with `vln-r1 eval`, so the CLI is built first (cargo test
# has built it already when called from scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
reqs="maturin==1.16.0 gymnasium==1.4.0 numpy==2.4.6 pytest==9.2.0 ray==2.60.0"
venv=.venv-py
if [ ! -f "$venv/.vln-r1-py-reqs" ] || [ "$(cat "$venv/.vln-r1-py-reqs")" != "$reqs" ]; then
  echo "test_python: installing into $venv: $reqs" >&2
  # shellcheck disable=SC2086
  if ! { python3 -m venv "$venv" &&
    "$venv/bin/pip" install --quiet --disable-pip-version-check $reqs &&
    echo "$reqs" > "$venv/.vln-r1-py-reqs"; }; then
    echo "test_python: installing $venv failed (see pip's error above)" >&2
    rm -f "$venv/.vln-r1-py-reqs"
    exit 1
  fi
fi
echo "== python venv: $((SECONDS - start)) s"
# The bindings crate is its own workspace (python/Cargo.toml), so the workspace's fmt and clippy miss it.
cargo fmt --manifest-path python/Cargo.toml --check
# No --locked: python/Cargo.lock follows the path crates (env, episodes, habitat_assets), whose dependencies
# change in commits to the main workspace.
cargo clippy --manifest-path python/Cargo.toml --all-targets -- -D warnings
echo "== python clippy: $((SECONDS - start)) s"
# The documented install command, without build isolation so the pinned maturin is used offline.
PATH="$PWD/$venv/bin:$PATH" "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-build-isolation ./python
echo "== python build + install: $((SECONDS - start)) s"
[ -x target/debug/vln-r1 ] || cargo build --locked -p vln-r1
export VLN_R1_BIN="$PWD/target/debug/vln-r1"
# pytest exits 0 when every test passed; 1 failures, 2 interrupted, 3 internal error, 4 usage error,
# 5 no tests collected: all but 0 fail the run (5 too: a suite that collects nothing tests nothing).
set +e
"$venv/bin/python" -m pytest python/tests -q -p no:cacheprovider
rc=$?
set -e
case $rc in
  0) echo "== python tests passed: $((SECONDS - start)) s" ;;
  5) echo "test_python: pytest collected no tests" >&2; exit 1 ;;
  *) echo "test_python: pytest failed with exit code $rc" >&2; exit "$rc" ;;
esac
