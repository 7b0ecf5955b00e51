"""Findings from a model's corrected copy of the changed code.

Small models write code far better than they write reviews: asked for the new code "with its bugs
fixed", the 0.5B model often rewrites `return total / 0` as `return total / len(values)` and
`age <= 18` as `age >= 18`, and copies correct lines unchanged. Pure: the code in the reply is
aligned with the new-side lines the model was shown; an added line the model rewrote into a
similar but different line becomes a finding there ("did you mean …?"). Lines the model adds or
leaves out, signatures, imports, comments and changes of spacing or quotes are not findings.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from coder_cli.core.diffview import DiffView

SIMILAR = 0.6  # how alike a rewritten line must be to the written one to count as its correction
SUGGESTION_MAX = 100  # characters of the suggested line quoted in a message

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


@dataclass(frozen=True)
class Suggestion:
    path: str
    line: int
    written: str
    suggested: str

    @property
    def syntax_error(self) -> bool:
        """A Python line that does not compile where the suggested one does (the one case sure enough for error)."""
        return self.path.endswith((".py", ".pyi")) and not _compiles(self.written) and _compiles(self.suggested)

    @property
    def severity(self) -> str:
        return "error" if self.syntax_error else "warning"

    @property
    def message(self) -> str:
        text = self.suggested.strip()
        if len(text) > SUGGESTION_MAX:
            text = text[: SUGGESTION_MAX - 1] + "…"
        return f"{'syntax error' if self.syntax_error else 'looks wrong'}; did you mean `{text}`?"


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
    return [
        Shown(path, ln.new, ln.text, ln.kind == "+")
        for path, hunks in view.shown.items()
        for h in hunks
        for ln in h.lines
        if ln.new is not None and ln.text.strip()
    ]


def suggestions(reply: str, view: DiffView) -> list[Suggestion]:
    """Added lines the reply's code rewrote into a similar, different line, in the order shown."""
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
            s = shown[i]
            found[(s.path, s.line)] = Suggestion(s.path, s.line, s.text.strip(), mine[j][0].strip())
    order = list(view.shown)
    return sorted(found.values(), key=lambda x: (order.index(x.path), x.line))


def _lead(text: str) -> str:
    """The first word of a line (its keyword or the name it assigns): a fix keeps it."""
    m = re.match(r"\s*(\w+)", text)
    return m.group(1) if m else text.strip()[:1]
