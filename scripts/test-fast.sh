#!/usr/bin/env bash
# The fast tier: every logic test, none that loads the real model (`model`) or runs slow machinery
# (`slow`: the fix loop's check in a subprocess, real git hooks, shells, timeouts). Under a minute
# on 2 cores; scripts/test.sh runs everything.
# Usage: scripts/test-fast.sh [pytest args...]     (CODER_VENV picks the venv folder; default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${CODER_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  echo "error: no virtualenv at $venv; run scripts/test.sh once first (it installs what the tests need)" >&2
  exit 1
fi
exec "$venv/bin/python" -m pytest -m "not model and not slow" "$@"
