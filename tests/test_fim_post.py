"""Fill-in-the-middle post-processing: golden cases (tests/cases/fim) and the window and position rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coder_cli.core.fim_post import choose_mode, cursor, done, finish, indent_style
from coder_cli.core.fim_prompt import PositionError, offset_of, prefix_window, split_keep, suffix_window

CASES = sorted((Path(__file__).parent / "cases" / "fim").glob("*.json"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden(case: Path):
    c = json.loads(case.read_text())
    cur = cursor(c["prefix"], c["suffix"])
    mode = choose_mode(cur, c["mode"])
    assert mode == c["expect_mode"]
    assert finish(c["raw"], cur, mode) == c["expected"]


def test_done_stops_a_line_at_its_end_and_a_block_at_its_dedent():
    line = cursor("x = f(", ")\n")
    assert not done("a, b", line, "line")
    assert done("a, b)\n", line, "line")
    block = cursor("def area(r):\n    ", "\n")
    assert not done("return r\n", block, "block")
    assert not done("return r\n\ndef", block, "block")  # the dedented line is not complete yet
    assert done("return r\n\ndef g():\n", block, "block")


def test_done_after_a_finished_line_waits_for_the_new_line():
    cur = cursor("x = compute()", "\n")
    assert not done("\n", cur, "line")
    assert not done("\n\n", cur, "line")  # a blank line first: the next line is still to come
    assert not done("\n  \n", cur, "line")
    assert done("\nprint(x)\n", cur, "line")


def test_indent_style():
    assert indent_style("def f():\n  x\n  if y:\n    z\n") == (False, 2)
    assert indent_style("def f():\n    x\n") == (False, 4)
    assert indent_style("{\n\tx\n\ty\n  z\n}") == (True, 4)


def test_offset_of_counts_from_one_and_names_the_extent():
    text = "ab\ncd\n"
    assert offset_of(text, 1) == 2  # no column: the end of the line
    assert offset_of(text, 2, 1) == 3
    assert offset_of(text, 3) == 6  # the empty line after the last newline
    with pytest.raises(PositionError, match="past the end of the file"):
        offset_of(text, 4)
    with pytest.raises(PositionError, match="past the end of line 2"):
        offset_of(text, 2, 4)
    with pytest.raises(PositionError, match="start at 1"):
        offset_of(text, 0)


def test_split_keep_only_splits_on_newlines():
    assert split_keep("a\n\nb\x0cc\nd") == ["a\n", "\n", "b\x0cc\n", "d"]
    assert "".join(split_keep("x\ny\n")) == "x\ny\n"


def _lines(n: int) -> list[str]:
    return [f"line_{i} = {i}\n" for i in range(n)]


def test_prefix_window_moves_in_jumps_so_nearby_cursors_share_it():
    count = lambda s: 10  # noqa: E731  every line costs 10 tokens
    lines = _lines(300)
    assert prefix_window(lines[:50], 1000, count) == 0  # fits whole
    starts = [prefix_window(lines[:end], 1000, count) for end in range(100, 300)]
    for end, start in zip(range(100, 300), starts, strict=True):
        assert (end - start) * 10 <= 1000  # always within budget
        assert (end - start) * 10 >= 500  # never less than half of it
    assert len(set(starts)) <= 5  # 200 cursor positions, at most a handful of distinct windows


def test_suffix_window_cuts_at_line_boundaries_and_keeps_the_cursor_line():
    count = lambda s: 10  # noqa: E731
    assert suffix_window(_lines(20), 35, count) == 3
    assert suffix_window(_lines(2), 35, count) == 2
    assert suffix_window(["a very long line\n"], 1, count) == 1


def test_auto_indent_puts_an_empty_line_cursor_where_an_editor_would():
    from coder_cli.core.fim_post import auto_indent

    assert auto_indent(cursor('def f(x):\n    """Doc."""\n', "\n\ndef g():\n")) == "    "
    assert auto_indent(cursor("def f(x):\n", "\n")) == "    "
    assert auto_indent(cursor("x = 1\n", "\n")) == ""
    assert auto_indent(cursor("def f(x):\n", "    return x\n")) == ""  # text after the cursor: not an empty line
    assert auto_indent(cursor("def f(x):\n  ", "\n")) == ""  # the cursor is already indented
