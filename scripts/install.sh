#!/usr/bin/env bash
# Install coder with the default model's offline mirror into a virtualenv (default .venv),
# then run the main job once to show it works. Usage: scripts/install.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CODER_VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -c constraints.txt -e '.[model]'
"$venv/bin/coder" models pull
echo "installed: $venv/bin/coder  (activate with: . $venv/bin/activate)"
