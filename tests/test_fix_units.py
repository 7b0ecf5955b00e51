"""Which unit a `coder fix` round rewrites (fix_units.choose) and which lines its line round tries
first (fix_units.focus), from a file and its check's failure output: golden cases, no model.

Each folder of tests/cases/fix_units is one case (its README says how to add one): the project
files, the check's real output in failure.txt and the expected choice in expected.json.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from coder_cli.actions import fix, fix_units
from coder_cli.core import failure as failures

CASES_DIR = Path(__file__).parent / "cases" / "fix_units"
CASES = sorted(p for p in CASES_DIR.iterdir() if (p / "expected.json").is_file())
NOT_PROJECT = ("expected.json", "failure.txt", "__pycache__")
FIELDS = ("kind", "name", "first", "last", "describe", "focus")


def _load(case: Path) -> tuple[dict, str]:
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    return expected, (case / "failure.txt").read_text(encoding="utf-8")


def _choose(case: Path, tmp_path: Path):
    """The case's project as `coder fix` reads it (a repository of its own), and the choice."""
    expected, output = _load(case)
    proj = tmp_path / case.name
    shutil.copytree(case, proj, ignore=shutil.ignore_patterns(*NOT_PROJECT))
    (proj / ".git").mkdir()
    target, root, rel, original, lang = fix.prepare(fix.FixRequest(proj / expected["target"], test_cmd=expected["check"]))
    ctx = fix_units.Context(
        target, root, rel, original, lang or "text", tmp_path / "home", lambda s: len(s.split()), "test", use_map=False
    )
    failure = failures.parse(output)
    try:
        unit = fix_units.choose(ctx, failure)
        return ctx, unit, fix_units.focus(ctx, unit, failure)
    finally:
        ctx.close()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden(case: Path, tmp_path: Path):
    expected, _ = _load(case)
    ctx, unit, focus = _choose(case, tmp_path)
    assert ctx.lang == expected["lang"]
    assert ctx.original.newline == expected.get("newline", "\n")
    got = {
        "kind": unit.kind,
        "name": unit.name,
        "first": unit.first,
        "last": unit.last,
        "describe": unit.describe(),
        "focus": list(focus),
    }
    assert got == {key: expected[key] for key in FIELDS}, expected.get("note", "")
    # The unit's text is its own lines of the file: what a rewrite of the unit replaces.
    if unit.kind == "file":
        assert unit.text == ctx.original.text
    else:
        assert unit.text == "\n".join(ctx.lines()[unit.first : unit.last + 1]) + "\n"


def test_the_cases_cover_the_choices():
    kinds = {json.loads((c / "expected.json").read_text())["kind"] for c in CASES}
    assert len(CASES) >= 12 and kinds == {"file", "function", "method", "class"}
