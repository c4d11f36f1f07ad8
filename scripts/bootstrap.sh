#!/usr/bin/env bash
# Creates the project-local torch venv when missing, then exports what cargo needs to link libtorch.
# Source it (`. scripts/bootstrap.sh`) so the exports reach your shell; executing it only installs.
# Idempotent: when the venv already holds the pinned requirements it returns at once.
_vln_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Pinned together: tch 0.24 is built against torch 2.11.0; transformers is the parity reference.
_vln_reqs="torch==2.11.0 transformers==4.57.1 safetensors==0.6.2 tokenizers==0.22.1 numpy==2.2.6 pillow==11.3.0"
if [ ! -f "$_vln_root/.venv/.vln-r1-reqs" ] || [ "$(cat "$_vln_root/.venv/.vln-r1-reqs")" != "$_vln_reqs" ]; then
  echo "bootstrap: installing into $_vln_root/.venv: $_vln_reqs (first time: ~2 min, 4.6 GB)" >&2
  # Explicit `&&`: `set -e` is ignored on the left of `||`, so without the chain a failed pip (a full disk,
  # say) would still write the marker and leave a broken venv that every later run trusts.
  # shellcheck disable=SC2086
  if ! { python3 -m venv "$_vln_root/.venv" &&
    "$_vln_root/.venv/bin/pip" install --quiet --disable-pip-version-check $_vln_reqs &&
    echo "$_vln_reqs" > "$_vln_root/.venv/.vln-r1-reqs"; }; then
    echo "bootstrap: installing the torch venv into $_vln_root/.venv failed (see pip's error above; df -h shows free disk)" >&2
    rm -f "$_vln_root/.venv/.vln-r1-reqs"
    unset _vln_root _vln_reqs
    return 1 2>/dev/null || exit 1
  fi
fi
export VIRTUAL_ENV="$_vln_root/.venv"
export PATH="$_vln_root/.venv/bin:$PATH"
export LIBTORCH_USE_PYTORCH=1
unset _vln_root _vln_reqs
