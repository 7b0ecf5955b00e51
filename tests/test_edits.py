"""Reply parsing (golden cases), unit replacement, failure reading: pure functions."""

from pathlib import Path

import pytest

from coder_cli.core import failure as failures
from coder_cli.core.edits import NoCodeBlock, first_complete_block, pick_block, reindent, replace_lines

CASES = sorted((Path(__file__).parent / "cases" / "replies").glob("*.txt"))


def _sections(path: Path) -> dict[str, str]:
    out, key = {}, None
    for line in path.read_text().splitlines(keepends=True):
        if line.startswith("=== ") and line.rstrip().endswith(" ==="):
            key = line.strip()[4:-4]
            out[key] = ""
        else:
            out[key] += line
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_reply_golden(case):
    s = _sections(case)
    lang, name, reply, expected = s["lang"].strip(), s["name"].strip(), s["reply"], s["expected"]
    if expected.strip() == "!NoCodeBlock":
        with pytest.raises(NoCodeBlock):
            pick_block(reply, lang, name)
    else:
        assert pick_block(reply, lang, name) == expected


def test_first_complete_block():
    assert not first_complete_block("```python\ndef f():\n")
    assert first_complete_block("```python\ndef f():\n    pass\n```")
    assert not first_complete_block("```python\n```")


def test_replace_lines_reindents_a_method():
    text = "class A:\n    def f(self):\n        return 1\n\n    def g(self):\n        return 2\n"
    new = replace_lines(text, 1, 2, "def f(self):\n    return 10\n")
    assert new == "class A:\n    def f(self):\n        return 10\n\n    def g(self):\n        return 2\n"


def test_reindent_keeps_tabs_in_a_tab_file():
    assert reindent("def f():\n    return 1\n", "\t", "\t") == "\tdef f():\n\t\treturn 1\n"


def test_failure_from_a_traceback():
    out = (
        "Traceback (most recent call last):\n"
        '  File "test_m.py", line 5, in <module>\n    check(f)\n'
        '  File "m.py", line 3, in f\n    return a / b\n'
        "ZeroDivisionError: division by zero\n"
    )
    f = failures.parse(out)
    assert f.summary == "ZeroDivisionError: division by zero"
    assert [(loc.path, loc.line) for loc in f.in_file("m.py", ".")] == [("m.py", 3)]
    assert failures.digest(f, "m.py", ["a = 1", "b = 0", "return a / b"]).startswith("m.py line 3, in f: `return a / b`")


def test_failure_from_pytest():
    out = (
        "    def test_a():\n>       assert add(1, 2) == 3\nE       assert 4 == 3\n\n"
        "test_m.py:4: AssertionError\n"
        "FAILED test_m.py::test_a - assert 4 == 3\n1 failed in 0.01s\n"
    )
    f = failures.parse(out)
    assert f.failed_tests == ["test_m.py::test_a"]
    assert f.summary == "assert 4 == 3"


def test_failure_compiler_style():
    f = failures.parse("src/a.c:10:5: error: expected ';'\n")
    assert (f.locations[0].path, f.locations[0].line) == ("src/a.c", 10)
    assert "expected" in f.summary


def test_trim_keeps_head_and_tail():
    out = "\n".join(f"line {i}" for i in range(1000))
    trimmed = failures.trim(out, 60, lambda s: len(s.split()))
    assert trimmed.startswith("line 0") and trimmed.endswith("line 999")
    assert "lines left out" in trimmed and len(trimmed.split()) <= 60
