"""Write failure.txt of fix_units golden cases by running each case's check the way `coder fix` does:
the project copied into a scratch folder, the check run there, the scratch path taken out of the output.

Usage: .venv/bin/python tests/cases/fix_units/regen.py [CASE ...]   (default: every case)

A case's expected.json names the target ("target") and the check ("check": a command as given to
`coder fix --test`, or null for fix's own check: the syntax check, then pytest on test_<name>.py).
Only failure.txt is written; the expectation itself is yours to check and write.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from coder_cli.actions import fix  # noqa: E402
from coder_cli.actions.checks import plan  # noqa: E402
from coder_cli.actions.scratch import Scratch  # noqa: E402

INPUTS = ("expected.json", "failure.txt", "__pycache__", ".pytest_cache")


def regen(case: Path) -> str:
    meta = json.loads((case / "expected.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        proj = Path(tmp) / "proj"
        shutil.copytree(case, proj, ignore=shutil.ignore_patterns(*INPUTS))
        (proj / ".git").mkdir()  # the project root, as in a repository
        req = fix.FixRequest(proj / meta["target"], test_cmd=meta.get("check"), lang=meta.get("lang"))
        target, root, rel, _, lang = fix.prepare(req)
        check = plan(target, root, lang or "", req.test_cmd)
        with Scratch(root) as scratch:
            result = fix._run(check, scratch, rel)
    if result.passed:
        raise SystemExit(f"{case.name}: the check passes; a case needs a failing check")
    (case / "failure.txt").write_text(result.output + "\n" if result.output else "")
    return result.output


def main(names: list[str]) -> None:
    # fix's check runs `pytest` when one is on PATH: make it this environment's.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    cases = [HERE / n for n in names] if names else sorted(p for p in HERE.iterdir() if (p / "expected.json").is_file())
    for case in cases:
        out = regen(case)
        print(f"== {case.name}: {len(out.splitlines())} lines")


if __name__ == "__main__":
    main(sys.argv[1:])
