"""Property-based tests of the parsers of model output and of git/diff text (issue 16, finding 12).

Each property (tests/fuzz_properties.py) runs a few hundred examples here, derandomized so a run
is repeatable; `scripts/fuzz.py` runs the same properties for minutes before a release. The
regressions below are the inputs the fuzz found, kept as plain tests.
"""

from __future__ import annotations

import pytest

from coder_cli.actions.chat_edits import propose
from coder_cli.core.patch import parse_diff, unquote
from tests.fuzz_properties import FILES, PROPERTIES

EXAMPLES = 250


@pytest.mark.parametrize("name", list(PROPERTIES))
def test_parser_property(name):
    PROPERTIES[name].test(EXAMPLES, derandomize=True)()


def test_diff_git_line_without_paths():
    files = parse_diff("diff --git \n")
    assert [(f.path, f.status) for f in files] == [("", "modified")]


def test_quoted_path_with_a_lone_surrogate():
    assert unquote('"a/\ud800x"') == "a/\ufffdx"
    assert unquote('"\\\udfff"') == "\ufffd"


def test_chat_reply_with_a_lone_surrogate():
    reply = "calc.py\n```python\ndef ratio(a, b):\n    return a / (b or 1)  # \ud83d\n```\n"
    proposal = propose(reply, FILES)
    assert [e.rel for e in proposal.edits] == ["calc.py"]
    assert "return a / (b or 1)  # \ud83d" in proposal.edits[0].after


def test_fix_reply_with_a_lone_surrogate():
    from pathlib import Path

    from coder_cli.actions.fix_units import Context, Rejected, Unit, apply
    from coder_cli.fs.text_file import TextFile

    text = FILES["calc.py"]
    original = TextFile(Path("/r/calc.py"), text, "utf-8", "\n", False, text.encode())
    ctx = Context(Path("/r/calc.py"), Path("/r"), "calc.py", original, "python", Path("/h"), len, "fuzz")
    unit = Unit("function", "ratio", 3, 4, "def ratio(a, b):\n    return a / b\n")
    with pytest.raises(Rejected, match="does not define ratio"):
        apply(ctx, unit, "```\n\ud800\n```\n")
    with pytest.raises(Rejected, match="does not parse"):  # Python cannot hold it; nothing is checked or written
        apply(ctx, unit, "```python\ndef ratio(a, b):\n    return a / b  # \ud800\n```\n")
