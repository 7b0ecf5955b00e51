"""Golden cases for code extraction: each file holds a raw model reply and the expected code."""

from pathlib import Path

import pytest

from coder_cli.core.extract import CodeExtractor, extract_code, fence

CASES = sorted((Path(__file__).parent / "cases" / "extract").glob("*.txt"))


def _load(path: Path) -> tuple[str, str]:
    text = path.read_text()
    reply, expected = text.split("=== expected ===\n", 1)
    return reply.split("=== reply ===\n", 1)[1], expected


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden(case):
    reply, expected = _load(case)
    assert extract_code(reply) == expected


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_streaming_in_small_pieces_gives_the_same(case):
    reply, expected = _load(case)
    ex = CodeExtractor()
    out = "".join(ex.feed(reply[i : i + 3]) for i in range(0, len(reply), 3)) + ex.finish()
    assert out == expected


def test_fence_is_longer_than_any_backticks_inside():
    assert fence("a ``` b").startswith("````")
    assert fence("x", "py") == "```py\nx\n```"
