"""The line round of `coder fix`: which lines become holes, how candidates apply, when the round
runs (scripted engine; the real model's part is tested at the end and in test_fix_real)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from coder_cli.actions.fix import round_plan
from coder_cli.actions.fix_lines import LineCandidate, candidates, holes
from coder_cli.core.failure import Failure
from tests.conftest import run_inprocess

FIXTURES = Path(__file__).parent / "fixtures" / "fix"
TEST = "--test=python -m pytest -q -p no:cacheprovider test_mod.py"

SOURCE = '''import os


@cache
def total(xs):
    """Sum of xs.

    Skips None.
    """
    # running sum
    t = 0
    for x in xs:
        if x is not None:
            t += x
    return t
'''


def test_holes_are_code_lines_with_the_failing_line_first():
    lines = SOURCE.split("\n")
    order = holes(lines, 0, len(lines) - 1, "python", start_with=[13])
    assert [lines[i].strip() for i in order] == [
        "t += x",
        "t = 0",
        "for x in xs:",
        "if x is not None:",
        "return t",
    ]


def test_holes_stay_inside_the_range():
    lines = SOURCE.split("\n")
    assert holes(lines, 11, 12, "python", start_with=[14]) == [11, 12]


def test_a_candidate_replaces_or_deletes_exactly_one_line():
    lines = ["a", "b", "c"]
    assert LineCandidate(1, "B", "fill").apply(lines) == "a\nB\nc"
    assert LineCandidate(1, None, "fill").apply(lines) == "a\nc"
    assert LineCandidate(1, None, "fill").describe() == "line 2 deleted"
    assert lines == ["a", "b", "c"]


def test_without_fim_tokens_there_are_no_candidates():
    class NoFim:
        def fim_tokens(self):
            return None

    assert list(candidates(NoFim(), ["x = 1"], [0])) == []


def test_a_far_likelier_edit_is_checked_beside_its_fill_and_the_rest_after_every_hole(monkeypatch):
    """Fills come hole by hole; an edit the model rates far above the written line (EAGER_GAP) comes
    right after its hole's fill; everything else waits for the ranking of all holes, best first,
    and one the model rates far below the written line (MIN_RANKED_GAP) never comes."""
    from coder_cli.actions import fix_lines

    class Fim:
        def fim_tokens(self):
            return object()

        def tokenize(self, text):
            return list(range(len(text)))

    gaps = {0: [5.0, -1.0], 1: [0.5, -20.0]}
    monkeypatch.setattr(fix_lines, "_end_ids", lambda engine: ([], []))
    monkeypatch.setattr(fix_lines, "_prompt", lambda engine, ids, lines, i, replaced=1: [i])
    monkeypatch.setattr(fix_lines, "_line", lambda engine, prompt: f"fill{prompt[0]}")
    monkeypatch.setattr(
        fix_lines,
        "_rated",
        lambda engine, prompt, i, original, edits, ends, empty: [
            LineCandidate(i, f"edit{i}:{g}", "comparison", g) for g in gaps[i]
        ],
    )
    monkeypatch.setattr(fix_lines, "_insertion", lambda *a: [LineCandidate(a[3], "new", "insertion", 1.0)])
    got = [c.text for c in candidates(Fim(), ["a = 1", "b = 2"], [0, 1], "python")]
    assert got == ["fill0", "edit0:5.0", "fill1", "new", "new", "edit1:0.5", "edit0:-1.0"]


def test_edits_rated_to_the_end_are_the_best_by_first_token_and_the_best_of_each_kind_elsewhere(monkeypatch):
    """The first-token screen picks EDITS_PER_LINE; past them, of each kind the best edits that
    change the line at a place not yet taken for that kind, EDITS_PER_KIND at most."""
    from coder_cli.actions import fix_lines
    from coder_cli.engine.base import TokenScore

    first = {"b": -1.0, "c": -2.0, "=": -3.0, "y": -4.0, "[": -5.0, "(": -9.0, "\n": -0.1}

    class Engine:
        def tokenize(self, text):
            return [ord(c) for c in text]

        def score(self, prompt, cont, probes):
            return [
                TokenScore(t, -0.5, t, -0.5, tuple(first.get(chr(p), -50.0) for p in probes.get(i, [])))
                for i, t in enumerate([*cont, 10])
            ]

    rated = []
    monkeypatch.setattr(fix_lines, "EDITS_PER_LINE", 1)
    monkeypatch.setattr(fix_lines, "_to_the_end", lambda engine, prompt, toks, ends: rated.append([*prompt, *toks]) or 0.0)
    edits = [
        ("x = c", "wrap"),  # place 4, second there
        ("x = b", "wrap"),  # place 4: the best first token, picked by the screen
        ("x== a", "wrap"),  # place 1: a second place for "wrap"
        ("y = a", "wrap"),  # place 0: "wrap" has its two
        ("x = a(k)", "slice"),  # place 5: beaten there by [
        ("x = a[k]", "slice"),
    ]
    fix_lines._rated(Engine(), [7], 0, Engine().tokenize("x = a"), edits, [10], [0])
    assert ["".join(map(chr, t[1:])) for t in rated] == ["x = b", "x== a", "x = a[k]"]


@pytest.mark.parametrize(
    ("summary", "fim", "plan"),
    [
        ("AssertionError: assert 7 == 12", True, ["lines", "rewrite", "rewrite"]),
        ("NameError: name 'math' is not defined", True, ["rewrite", "lines", "rewrite"]),
        ("SyntaxError: expected ':'", True, ["rewrite", "lines", "rewrite"]),
        ("AssertionError: assert 7 == 12", False, ["rewrite", "rewrite", "rewrite"]),
    ],
)
def test_round_plan(summary, fim, plan):
    assert round_plan(3, Failure(output="", summary=summary), fim) == plan


def _case(tmp_path: Path, name: str, base: Path = FIXTURES) -> Path:
    dst = tmp_path / "proj"
    shutil.copytree(base / name, dst)
    subprocess.run(["git", "init", "-q", str(dst)], check=True)
    return dst


@pytest.mark.slow
def test_a_wrong_value_is_repaired_by_refilling_its_line(tmp_path, home, scripted):
    proj = _case(tmp_path, "wrong_operator")
    # The scripted model's fill goes on past the hole, as the real one does: only its first line counts.
    model, calls = scripted("    return width * height\n\nprint(area(2, 3))\n", fim=True)
    r = run_inprocess(["fix", "mod.py", TEST, "--yes", "--json", "-m", model], home, proj)
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["written"] and [a["how"] for a in data["attempts"]] == ["line 3 refilled"]
    fixed = 'def area(width, height):\n    """Area of a rectangle."""\n    return width * height\n'
    assert (proj / "mod.py").read_text() == fixed
    assert [c["kind"] for c in calls()] == ["complete"]
    # The hole is the return line: its prefix holds the docstring, its suffix what follows.
    assert calls()[0]["tokens"][0] == 1  # <|fim_prefix|>


@pytest.mark.slow
def test_a_fill_that_changes_nothing_is_not_checked_and_the_rewrite_follows(tmp_path, home, scripted):
    proj = _case(tmp_path, "wrong_operator")
    good = '```python\ndef area(width, height):\n    """Area of a rectangle."""\n    return width * height\n```\n'
    # Replies: the hole's fill (the line as it is), an empty fill below it (no insertion), the rewrite.
    model, calls = scripted("    return width + height\n", "", good, fim=True)
    r = run_inprocess(["fix", "mod.py", TEST, "--yes", "--json", "-m", model], home, proj)
    assert r.code == 0, r.stderr
    hows = [a["how"] for a in json.loads(r.stdout)["attempts"]]
    # The unchanged fill is not checked; the line's edits are (none passes), then the rewrite is.
    assert hows[-1] == "rewrite" and "line 3 refilled" not in hows
    assert "line 3 edited (operator)" in hows and "line 3 deleted" in hows
    assert [c["kind"] for c in calls()] == ["complete", "complete", "chat"]


@pytest.mark.slow
def test_candidates_that_time_out_end_the_line_round_early(tmp_path, home, scripted):
    """A loop the one-line candidates do not mend: each of them costs the whole --timeout, so the
    line round gives way to the rewrite after two."""
    # Not among fixtures/fix: test_fix_real repairs every case there with the default 120 s timeout.
    proj = _case(tmp_path, "endless_loop", FIXTURES.parent / "fix_slow")
    good = (
        "```python\ndef countdown(n):\n    steps = 0\n    while n != 0:\n        n = n - 1\n"
        "        steps += 1\n    return steps\n```\n"
    )
    # One reply for every call: as a fill or an insertion its first line (a fence) does not parse, so
    # the line round is the edits, most of which loop on; as the rewrite it is right.
    model, calls = scripted(good, fim=True)
    r = run_inprocess(["fix", "mod.py", TEST, "--timeout", "5", "--yes", "--json", "-m", model], home, proj)
    assert r.code == 0, r.stderr
    attempts = json.loads(r.stdout)["attempts"]
    line_round = [a for a in attempts if not a["how"].startswith("rewrite")]
    timed_out = [a for a in line_round if "timed out" in a["summary"]]
    assert len(timed_out) == 2 and line_round[-1] is timed_out[-1], line_round
    assert attempts[-1]["how"] == "rewrite" and attempts[-1]["outcome"] == "passed"
