"""Findings from a model's corrected copy of the changed code.

Small models write code far better than they write reviews: asked for the new code "with its bugs
fixed", the 0.5B model often rewrites `return total / 0` as `return total / len(values)` and
`age <= 18` as `age >= 18`, and copies correct lines unchanged. Pure: the code in the reply is
aligned with the new-side lines the model was shown; an added line the model rewrote into a
similar but different line becomes a finding there ("did you mean …?"). Lines the model adds or
leaves out, signatures, imports, comments and changes of spacing or quotes are not findings.

A finding is an error only when it is sure: the whole new-side Python file does not compile, and
the compiler blames this very line (or this line's hunk, when the line does not compile alone and
the rewrite does). One line of a statement spread over several lines is a warning at most.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from coder_cli.core.diff_packing import DiffView

SIMILAR = 0.6  # how alike a rewritten line must be to the written one to count as its correction
SUGGESTION_MAX = 100  # characters of the suggested line quoted in a message
PYTHON = (".py", ".pyi")

_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n(.*?)(?:^\1\s*$|\Z)", re.MULTILINE | re.DOTALL)
_GUTTER = re.compile(r"^\s*(\d+) ?[ +](?=\S|\s)")
_SKIP = re.compile(r"^\s*(?:#|//|/\*|\*|--|File |@@|def |class |async def |fn |func |function |import |from \S+ import |@)")
_COMMENT = re.compile(r"\s+(?:#|//).*$")


@dataclass(frozen=True)
class Shown:
    path: str
    line: int
    text: str
    added: bool
    hunk: tuple[int, int]  # the first and last new-side line of the hunk it was shown in


@dataclass(frozen=True)
class Suggestion:
    path: str
    line: int
    written: str
    suggested: str
    syntax_error: bool = False  # the new-side file does not compile there (the one case sure enough for error)

    @property
    def severity(self) -> str:
        return "error" if self.syntax_error else "warning"

    @property
    def message(self) -> str:
        text = self.suggested.strip()
        if len(text) > SUGGESTION_MAX:
            text = text[: SUGGESTION_MAX - 1] + "…"
        return f"{'syntax error' if self.syntax_error else 'looks wrong'}; did you mean `{text}`?"


def syntax_error_line(source: bytes) -> int | None:
    """The line of the first syntax error in the Python file SOURCE; None when it compiles (or no line is known)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escape sequences and the like are not errors
        try:
            compile(source, "<new side>", "exec", dont_inherit=True)
        except SyntaxError as exc:
            return exc.lineno or None
        except (ValueError, RecursionError):  # null bytes; nesting too deep for the compiler
            return None
    return None


def _is_syntax_error(shown: Shown, suggested: str, broken: int | None) -> bool:
    """Whether the file's syntax error (at line BROKEN) is the written line's, which SUGGESTED corrects."""
    if broken is None or not shown.path.endswith(PYTHON):
        return False
    if broken == shown.line:
        return True
    first, last = shown.hunk
    return first <= broken <= last and not _compiles(shown.text) and _compiles(suggested)


def _compiles(line: str) -> bool:
    """Whether LINE compiles as a statement inside a function (a block opener gets a body)."""
    body = line.strip() + ("\n        pass" if line.rstrip().endswith(":") else "")
    try:
        compile(f"def _():\n    {body}\n", "<line>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def code_of(reply: str) -> str:
    """The reply's code: its first fenced block (even unclosed), else the whole reply."""
    m = _FENCE.search(reply)
    return m.group(2) if m else reply


def _key(text: str) -> str:
    """A line as compared: no comment at its end, no spacing, one kind of quotes, no trailing ; or ,."""
    s = _COMMENT.sub("", text)
    s = re.sub(r"\s+", "", s).replace("'", '"')
    return s.rstrip(";,")


def _model_lines(code: str) -> list[tuple[str, int | None]]:
    """(line, the line number it was copied with, if any) for each line of code worth comparing."""
    out = []
    for raw in code.splitlines():
        number = None
        m = _GUTTER.match(raw)
        if m:
            number, raw = int(m.group(1)), raw[m.end() :]
        elif raw[:1] in "+-" and raw[1:2] != raw[:1]:
            raw = raw[1:]
        if raw.strip():
            out.append((raw, number))
    return out


def _shown(view: DiffView) -> list[Shown]:
    out = []
    for path, hunks in view.shown.items():
        for h in hunks:
            numbers = [ln.new for ln in h.lines if ln.new is not None]
            span = (min(numbers), max(numbers)) if numbers else (0, -1)
            kept = [ln for ln in h.lines if ln.new is not None and ln.text.strip()]
            out.extend(Shown(path, ln.new, ln.text, ln.kind == "+", span) for ln in kept)
    return out


def suggestions(reply: str, view: DiffView, broken: Mapping[str, int] | None = None) -> list[Suggestion]:
    """Added lines the reply's code rewrote into a similar, different line, in the order shown.

    BROKEN: for the Python files whose whole new side does not compile, the line the compiler
    blames (see `syntax_error_line`); a suggestion is a syntax error only there.
    """
    broken = broken or {}
    shown = _shown(view)
    mine = _model_lines(code_of(reply))
    if not shown or not mine:
        return []
    a = [_key(s.text) for s in shown]
    b = [_key(text) for text, _ in mine]
    written = set(a)
    found: dict[tuple[str, int], Suggestion] = {}
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "replace":
            continue
        pairs = []  # (likeness, i, j): each written line goes to the rewrite most like it
        for i in range(i1, i2):
            if not shown[i].added or _SKIP.match(shown[i].text):
                continue
            for j in range(j1, j2):
                text, number = mine[j]
                if _SKIP.match(text) or b[j] in written or _lead(text) != _lead(shown[i].text):
                    continue
                ratio = difflib.SequenceMatcher(None, a[i], b[j]).ratio()
                if ratio >= SIMILAR:
                    pairs.append((number == shown[i].line, ratio, -i, -j))
        used_i, used_j = set(), set()
        for _, _, ni, nj in sorted(pairs, reverse=True):
            i, j = -ni, -nj
            if i in used_i or j in used_j:
                continue
            used_i.add(i)
            used_j.add(j)
            s, fix = shown[i], mine[j][0].strip()
            error = _is_syntax_error(s, fix, broken.get(s.path))
            found[(s.path, s.line)] = Suggestion(s.path, s.line, s.text.strip(), fix, error)
    order = list(view.shown)
    return sorted(found.values(), key=lambda x: (order.index(x.path), x.line))


def _lead(text: str) -> str:
    """The first word of a line (its keyword or the name it assigns): a fix keeps it."""
    m = re.match(r"\s*(\w+)", text)
    return m.group(1) if m else text.strip()[:1]
