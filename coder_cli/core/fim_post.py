"""Where a fill-in-the-middle completion ends, and what is cut from it.

The model is asked for the text between a prefix and a suffix. Left alone, a
small model often runs on: it writes the line asked for and then the lines that
already follow (the suffix), or a whole new function. These pure functions turn
its raw text into the fill:

- ``line``: the rest of the cursor's line (or one inserted line);
- ``block``: the body the cursor opens, up to the first line indented less than it
  (``auto`` picks one of the two from the text around the cursor);

then, in every mode: the part that repeats the suffix is cut, the indentation
style (tabs or spaces) follows the file, and the fill joins the suffix cleanly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MODES = ("auto", "line", "block")
_OPENERS = re.compile(r"(:|\{|=>|\bdo|\bthen)\s*$")
LONG_LINE = 10  # a repeated suffix line this long is a repetition on its own


@dataclass(frozen=True)
class Cursor:
    """The text around the cursor that decides the mode and the cuts."""

    before: str  # the cursor's line before the cursor
    after: str  # the cursor's line after the cursor
    prev: str  # the last non-blank line above the cursor's line ("" at the top)
    next_lines: tuple[str, ...]  # the first non-blank lines of the suffix after the cursor's line
    tabs: bool  # the file indents with tabs
    width: int  # spaces per indentation level (when it does not)

    @property
    def at_line_start(self) -> bool:
        return not self.before.strip()

    @property
    def mid_line(self) -> bool:
        return bool(self.before.strip()) and bool(self.after.strip())


def cursor(prefix: str, suffix: str) -> Cursor:
    before = prefix.rsplit("\n", 1)[-1]
    head, _, rest = suffix.partition("\n")
    above = prefix[: len(prefix) - len(before)].split("\n")
    prev = next((ln for ln in reversed(above) if ln.strip()), "")
    following = tuple(ln for ln in rest.split("\n") if ln.strip())[:3]
    tabs, width = indent_style(prefix + suffix)
    return Cursor(before, head, prev, following, tabs, width)


def indent_style(text: str) -> tuple[bool, int]:
    """(uses tabs, spaces per level) from the indented lines of TEXT."""
    tab = space = 0
    width = 0
    for ln in text.split("\n"):
        if ln.startswith("\t"):
            tab += 1
        elif ln.startswith(" ") and ln.strip():
            space += 1
            width = math.gcd(width, len(ln) - len(ln.lstrip(" ")))
    if tab > space:
        return True, 4  # spaces the model writes are converted at four to a tab
    return False, width if width in (2, 4, 8) else 4


def auto_indent(cur: Cursor) -> str:
    """The indentation an editor would put the cursor at on an empty line it sits at column 0 of:
    the line above's, one level deeper under a block opener; "" elsewhere. The completer shows it
    only when the model, shown column 0, writes nothing there: the model picks a depth (out of a
    loop, say) better than this guess does."""
    if cur.before or cur.after.strip() or not cur.prev.strip():
        return ""
    lead = cur.prev[: _indent(cur.prev)]
    if _OPENERS.search(cur.prev.rstrip()):
        lead += "\t" if cur.tabs else " " * cur.width
    return lead


def choose_mode(cur: Cursor, mode: str = "auto") -> str:
    """``line`` or ``block`` for MODE at CUR (``auto`` decides from the text around the cursor).

    A block only where the cursor opens one whose body is still empty: at the end of a line
    that ends with a block opener, or on an empty line below one. Everywhere else a line
    (at the end of a finished line, the next line, starting with the newline): measured on
    HumanEval infilling, the 0.5B model rarely stops on its own after the lines a hole
    needs, and a line is what an editor's completion key asks for.
    """
    if mode != "auto":
        return mode
    header = cur.before if cur.before.strip() else cur.prev
    if cur.after.strip() or not _OPENERS.search(header.rstrip()):
        return "line"
    below = cur.next_lines[0] if cur.next_lines else ""
    if not below or _indent(below) <= _indent(header):
        return "block"  # an empty body: write it
    return "line"  # the body is there: a line (at the end of the opener, a new first line of it)


def finish(raw: str, cur: Cursor, mode: str) -> str:
    """The fill from the model's RAW text in MODE (``line`` or ``block``)."""
    if mode == "line":
        out = _line(raw, cur)
    else:
        out = _suffix_repeat(_block(raw, cur), cur, final=True)
    return _join(_restyle(out, cur), cur)


def done(raw: str, cur: Cursor, mode: str) -> bool:
    """Whether RAW, still growing, already holds the whole fill (the generation can stop)."""
    if "\n" not in raw:
        return False
    if mode == "line":
        return "\n" in raw[_line_start(raw, cur) :]
    text = raw[: raw.rfind("\n") + 1]  # complete lines only
    return _block(text, cur) != text or _suffix_repeat(text, cur, final=False) != text


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


_BLANK_LINES = re.compile(r"(?:[ \t]*\n)*")


def _line_start(text: str, cur: Cursor) -> int:
    """Where the line a line fill keeps begins in TEXT: at 0 mid-line (the rest of the line) and
    where the model goes on with the cursor's line; else after the blank lines it writes first
    (after a finished line, the newline that starts the next one and any blank line after it)."""
    if cur.after.strip():
        return 0
    return _BLANK_LINES.match(text).end()  # 0 where the model goes on with the cursor's line


def _line(text: str, cur: Cursor) -> str:
    start = _line_start(text, cur)
    first = text[start:].partition("\n")[0]
    if cur.before.strip() and start:
        # a new line after a finished one (with one blank line above it where the model wrote one)
        return "\n" * min(text[:start].count("\n"), 2) + first
    # (on an empty line the model's blank lines are skipped: its first line of code is the fill)
    if cur.at_line_start and cur.after.strip():
        if first.strip() == cur.after.strip():
            return ""  # the model repeats the line that follows: nothing to insert
        return first
    return _drop_overlap(first, cur)


def _drop_overlap(fill: str, cur: Cursor) -> str:
    """FILL without closing text the rest of the line already has (`x)` before `)` -> `x`), when
    that is what balances the line's brackets."""
    tail = cur.after.strip()
    if not tail or _balanced(cur.before + fill + cur.after):
        return fill
    body = fill.rstrip()
    for k in range(min(len(body), len(tail)), 0, -1):
        if body.endswith(tail[:k]) and _balanced(cur.before + body[:-k] + cur.after):
            return body[:-k]
    return fill


def _balanced(line: str) -> bool:
    """Brackets of LINE (outside simple string literals) close in order."""
    line = re.sub(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'", "", line)
    stack = []
    for ch in line:
        if ch in "([{":
            stack.append(ch)
        elif ch in ")]}":
            if not stack or "([{"[")]}".index(ch)] != stack.pop():
                return False
    return not stack


def _block(text: str, cur: Cursor) -> str:
    lines = text.split("\n")
    if cur.before.strip() and _OPENERS.search(cur.before.rstrip()):
        header = _indent(cur.before)
        floor = header + 1  # the body is deeper than its header line
    elif cur.before.strip():  # after a finished line: the lines that follow, at the depth the model writes them
        first = next((ln for ln in lines[1:] if ln.strip()), "")
        floor = header = _indent(first.expandtabs(cur.width))
    elif cur.before:
        floor = header = len(cur.before.expandtabs(cur.width))
    else:
        first = next((ln for ln in lines if ln.strip()), "")
        floor = header = _indent(first)
        if _OPENERS.search(cur.prev.rstrip()) and floor <= _indent(cur.prev):
            floor = header = _indent(cur.prev) + 1
    below = cur.next_lines[0].strip() if cur.next_lines else ""
    for i, ln in enumerate(lines[1:], 1):
        if ln.strip() and _indent(ln.expandtabs(cur.width)) < floor:
            closing = ln.strip()[:1] in ")]}" or ln.strip() == "end"
            if closing and cur.before.strip() and _indent(ln) == header and not below.startswith(ln.strip()[:1]):
                return "\n".join(lines[: i + 1])  # close the block the cursor opened
            return "\n".join(lines[:i])
    return text


def _suffix_repeat(text: str, cur: Cursor, final: bool) -> str:
    """TEXT cut before the first line where it starts writing the suffix again."""
    want = [ln.strip() for ln in ((cur.after,) if cur.after.strip() else ()) + cur.next_lines]
    if not want:
        return text
    lines = text.split("\n")
    complete = len(lines) if final else len(lines) - 1  # the last piece may still grow
    first = 0 if cur.at_line_start else 1
    for i in range(first, complete):
        if lines[i].strip() != want[0]:
            continue
        run = 1
        while run < len(want) and i + run < complete and lines[i + run].strip() == want[run]:
            run += 1
        last = all(not ln.strip() for ln in lines[i + 1 :])
        if run >= 2 or len(want[0]) >= LONG_LINE or (final and last):
            return "\n".join(lines[:i])
    return text


def _restyle(text: str, cur: Cursor) -> str:
    """Leading indentation in the file's style (tabs or spaces)."""
    out = []
    for i, ln in enumerate(text.split("\n")):
        body = ln.lstrip(" \t")
        lead = ln[: len(ln) - len(body)]
        if i == 0 and cur.before:
            out.append(ln)  # the cursor's own line: its indentation is already typed
            continue
        if cur.tabs and " " * cur.width in lead:
            lead = lead.replace(" " * cur.width, "\t")
        elif not cur.tabs and "\t" in lead:
            lead = lead.replace("\t", " " * cur.width)
        out.append(lead + body)
    return "\n".join(out)


def _join(text: str, cur: Cursor) -> str:
    """The fill's end adjusted to what follows: an inserted line ends with its newline; before an
    empty rest of line, no trailing newline or blank line is added."""
    if not text.strip():
        return ""
    if cur.at_line_start and cur.after.strip():
        return text.rstrip() + "\n"
    if not cur.after.strip():
        return text.rstrip()
    return text
