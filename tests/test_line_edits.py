"""core.line_edits: the small edits of one line that `coder fix` rates and checks."""

import pytest

from coder_cli.core.line_edits import edits, scope_names

SOURCE = """def helper(x):
    return x


def count(xs, k):
    total = 0
    for i in range(1, len(xs)):
        if xs[i] > k and i != 0:
            total = xs[i] - 1
    while not done(total):
        total += helper(k, total)
    return sorted(new_lst)


def same(a, b):
    return a == b
"""


def _texts(line: int, names=()) -> list[str]:
    return [e.text.strip() for e in edits(SOURCE, line, "python", names)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (7, "if xs[i] >= k and i != 0:"),  # a comparison flipped
        (7, "if xs[i] > k and i == 0:"),
        (7, "if xs[i] > k or i != 0:"),  # and <-> or
        (7, "if not (xs[i] > k and i != 0):"),  # a condition negated
        (7, "if xs[i] > k:"),  # a condition too many
        (8, "total += xs[i] - 1"),  # = -> +=
        (8, "total = xs[i]"),  # the - 1 dropped
        (8, "total = xs[i] + 1"),
        (8, "total = xs[i + 1] - 1"),  # an index moved by one
        (8, "total = abs(xs[i] - 1)"),  # a value wrapped in a call
        (9, "while done(total):"),  # a `not` removed
        (10, "total = helper(k, total)"),  # += -> =
        (10, "total += helper(total, k)"),  # two arguments swapped
        (11, "return new_lst"),  # a call unwrapped
        (11, "return sorted(helper(new_lst))"),  # wrapped in a function of the module
        (6, "for i in range(0, len(xs)):"),  # a constant moved by one
        (11, "return sorted(new_lst.lower())"),  # a method call missing on a value
        (11, "return sorted(new_lst[:k])"),  # a value sliced by a name of the function
        (11, "return sorted(new_lst[total:])"),
        (15, "return set(a) == set(b)"),  # both sides of a comparison wrapped alike
        (15, "return a.lower() == b"),
    ],
)
def test_python_edits(line, expected):
    assert expected in _texts(line, scope_names(SOURCE, "python"))


def test_edits_are_whole_lines_without_duplicates_or_the_line_itself():
    lines = SOURCE.split("\n")
    for i, original in enumerate(lines):
        found = [e.text for e in edits(SOURCE, i, "python", ("helper",))]
        assert original not in found
        assert len(found) == len(set(found))
        indent = original[: len(original) - len(original.lstrip())]
        assert all(t.startswith(indent) and "\n" not in t for t in found)


def test_every_python_edit_still_parses():
    import ast

    lines = SOURCE.split("\n")
    for i in range(len(lines)):
        for e in edits(SOURCE, i, "python", ("helper",)):
            ast.parse("\n".join([*lines[:i], e.text, *lines[i + 1 :]]))


def test_values_are_sliced_only_by_names_of_their_own_function_known_by_then():
    sliced = [t for t in _texts(11) if "[" in t and t.startswith("return sorted(new_lst[")]
    assert sorted(sliced) == sorted(f"return sorted(new_lst[{s}])" for k in ("xs", "k", "total", "i") for s in (f":{k}", f"{k}:"))
    assert "return a[:b] == b" in _texts(15)
    assert not any(f"[:{n}]" in t for n in ("x", "a", "b") for t in _texts(11)) and not any("xs" in t for t in _texts(15))


def test_the_function_called_is_not_wrapped_only_its_values():
    assert not any("abs(sorted)" in t for t in _texts(11))


def test_blank_lines_and_lines_out_of_range_have_no_edits():
    assert edits(SOURCE, 2, "python") == []
    assert edits(SOURCE, 99, "python") == []


def test_strings_are_not_edited_as_code():
    src = 'def f():\n    return "a < b" + x\n'
    assert all('"a < b"' in e.text for e in edits(src, 1, "python"))


def test_a_string_literal_becomes_another_literal_of_its_own_function_not_its_docstring():
    src = (
        'def g():\n    return "zz"\n\n\n'
        'def f(n, words):\n    """Docstring."""\n    sep = \' \'\n'
        '    return "db" + bin(n)[2:] + "d" + \'\'.join(words) + f"{n}!"\n'
    )
    found = [e.text.strip() for e in edits(src, 7, "python") if e.kind == "literal"]
    assert 'return "db" + bin(n)[2:] + "db" + \'\'.join(words) + f"{n}!"' in found  # "d" -> "db"
    assert 'return "db" + bin(n)[2:] + "d" + \' \'.join(words) + f"{n}!"' in found  # the line above's \' \'
    assert not any("zz" in t or "Docstring" in t for t in found)  # other functions, docstrings
    assert not any('f"{n}!"' not in t for t in found)  # f-strings are left alone
    assert all(t.count('"d"') + t.count('"db"') + t.count("''") + t.count("' '") == 3 for t in found)


def test_non_ascii_text_keeps_its_columns():
    src = 'def f(x):\n    return "é" if x < 1 else "ü"\n'
    assert '    return "é" if x <= 1 else "ü"' in [e.text for e in edits(src, 1, "python")]


def test_a_file_that_does_not_parse_falls_back_to_token_edits():
    src = "def f(x:\n    if x < 1:\n"
    assert "    if x <= 1:" in [e.text for e in edits(src, 1, "python")]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("  if (a < b && c) {", "  if (a <= b && c) {"),
        ("  if (a < b && c) {", "  if (a < b || c) {"),
        ("  if (a < b && c) {", "  if (!(a < b && c)) {"),
        ("  while (!(i > n)) {", "  while (i > n) {"),
        ("  x = a[i + 1];", "  x = a[i];"),
        ("  x = a[i + 1];", "  x = a[i - 1];"),
        ("  total = total + v;", "  total += total + v;"),
        ("  if (x === y) return;", "  if (x !== y) return;"),
    ],
)
def test_other_languages_get_token_edits(line, expected):
    assert expected in [e.text for e in edits(line, 0, "javascript")]


def test_scope_names_are_the_module_functions():
    assert scope_names(SOURCE, "python") == ("helper", "count", "same")
    assert scope_names("def f(:\n", "python") == ()
    assert scope_names(SOURCE, "go") == ()
