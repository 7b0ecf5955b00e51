#!/usr/bin/env bash
# Install coder with the default model's offline mirror into a virtualenv (default .venv), then
# check that the model loads and decodes on this machine (`coder doctor`'s probe: on a CPU where
# llama.cpp's defaults crash it finds and keeps a setting that works). Usage: scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CODER_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  echo "creating the virtualenv $venv" >&2
  python3 -m venv "$venv" || {
    echo "error: could not create a virtualenv; on Debian/Ubuntu: apt-get install python3-venv" >&2
    exit 1
  }
fi
"$venv/bin/python" -m pip install -q --upgrade pip
# Says what it builds and how long it takes, shows the compiler's progress, and explains a failure.
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}" \
  "$venv/bin/python" scripts/pip_install.py -c constraints.txt -e '.[model]'
"$venv/bin/coder" models pull
echo "checking that the model loads and answers on this machine (coder doctor)" >&2
"$venv/bin/coder" doctor --no-bench --yes >&2
echo "installed: $venv/bin/coder  (activate with: . $venv/bin/activate)" >&2
