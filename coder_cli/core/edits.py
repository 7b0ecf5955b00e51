"""Edits for small models: one whole unit (function, class or file) rewritten in one code block.

Pure functions: parse the reply, fit the new unit into the file's indentation,
replace exactly the unit's span, and verify the result before anything is written.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

IMPORT_LINE = re.compile(r"^(import\s+\S|from\s+\S+\s+import\s)")
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n`]*$")


_LANG_WORDS = {
    "python",
    "py",
    "python3",
    "javascript",
    "js",
    "typescript",
    "ts",
    "tsx",
    "jsx",
    "go",
    "rust",
    "java",
    "c",
    "cpp",
    "c++",
    "csharp",
    "cs",
    "ruby",
    "rb",
    "php",
    "kotlin",
    "swift",
    "bash",
    "sh",
    "lua",
    "scala",
}


@dataclass(frozen=True)
class CodeBlock:
    lang: str
    code: str
    complete: bool  # False when the reply ended inside the block
    lead: str = ""  # the last non-blank line of prose before the block (often names a file)


class NoCodeBlock(ValueError):
    """The reply holds no usable code block."""


def code_blocks(reply: str) -> list[CodeBlock]:
    """Every fenced block of REPLY, in order (a block cut off at the end is marked incomplete)."""
    blocks: list[CodeBlock] = []
    lines = reply.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i].rstrip())
        if not m:
            i += 1
            continue
        fence, lang = m.group(1), m.group(2).lower()
        lead = next((ln.strip() for ln in reversed(lines[max(0, i - 3) : i]) if ln.strip()), "")
        body: list[str] = []
        i += 1
        closed = False
        while i < len(lines):
            stripped = lines[i].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                closed = True
                i += 1
                break
            body.append(lines[i])
            i += 1
        if not lang and body and body[0].strip().lower() in _LANG_WORDS:
            lang = body.pop(0).strip().lower()  # "```" then "python" on its own line: a misplaced tag
        blocks.append(CodeBlock(lang, "\n".join(body).strip("\n") + "\n", closed, lead))
    return blocks


def first_complete_block(text: str) -> bool:
    """True once TEXT holds a closed code block with code in it (generation can stop there)."""
    return any(b.complete and b.code.strip() for b in code_blocks(text))


def pick_block(reply: str, lang: str, name: str | None = None) -> str:
    """The code to use from REPLY: the block defining NAME, else the longest block in LANG (or untagged).

    A reply without fences is used whole when it looks like code. Raises NoCodeBlock otherwise.
    """
    blocks = [b for b in code_blocks(reply) if b.code.strip()]
    if not blocks:
        stripped = reply.strip("\n")
        if stripped and name and re.search(rf"\b(def|class|function|fn|func)\s+{re.escape(name)}\b", stripped):
            return stripped + "\n"
        raise NoCodeBlock("the reply has no code block")
    fitting = [b for b in blocks if b.lang in ("", lang) or lang.startswith(b.lang) or b.lang.startswith(lang[:2])]
    pool = fitting or blocks
    if name:
        defining = [b for b in pool if re.search(rf"\b(def|class|function|fn|func)\s+{re.escape(name)}\b", b.code)]
        named = defining or [b for b in pool if re.search(rf"\b{re.escape(name)}\b", b.code)]
        pool = named or pool
    complete = [b for b in pool if b.complete] or pool
    return max(complete, key=lambda b: len(b.code)).code


def unit_first_line(lines: list[str], first: int) -> int:
    """The first line of the definition starting at line FIRST, decorators written above it included."""
    while first > 0 and lines[first - 1].lstrip().startswith("@"):
        first -= 1
    return first


def leading_indent(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            return line[: len(line) - len(line.lstrip())]
    return ""


def reindent(code: str, indent: str, indent_unit: str = "    ") -> str:
    """CODE moved to start at INDENT (its own common indentation removed first; tabs kept as tabs)."""
    body = textwrap.dedent(code.replace("\r\n", "\n"))
    if "\t" in indent_unit and not any(line.startswith("\t") for line in body.split("\n")):
        body = re.sub(r"^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), body, flags=re.M)
    return "".join((indent + line if line.strip() else line) + "\n" for line in body.rstrip("\n").split("\n"))


def replace_span(text: str, start: int, end: int, new: str) -> str:
    """TEXT with characters [START, END) replaced by NEW (keeping what follows the span's last line)."""
    return text[:start] + new + text[end:]


def line_span(text: str, first: int, last: int) -> tuple[int, int]:
    """Character offsets of whole lines FIRST..LAST (0-based, inclusive), the final newline included."""
    lines = text.split("\n")
    start = sum(len(x) + 1 for x in lines[:first])
    end = sum(len(x) + 1 for x in lines[: last + 1])
    return start, min(end, len(text))


def replace_lines(text: str, first: int, last: int, new_unit: str) -> str:
    """TEXT with lines FIRST..LAST replaced by NEW_UNIT, re-indented to the original first line's indentation."""
    start, end = line_span(text, first, last)
    old = text[start:end]
    unit = reindent(new_unit, leading_indent(old), _indent_unit(text))
    if not old.endswith("\n"):
        unit = unit.rstrip("\n")
    return replace_span(text, start, end, unit)


def _indent_unit(text: str) -> str:
    return "\t" if re.search(r"^\t", text, re.M) and not re.search(r"^ {2,}\S", text, re.M) else "    "


def add_imports(text: str, imports: list[str]) -> str:
    """TEXT with the Python IMPORTS it lacks, after its last import line (or at the top)."""
    present = {ln.strip() for ln in text.split("\n")}
    missing = [ln.strip() for ln in imports if ln.strip() not in present]
    if not missing:
        return text
    lines = text.split("\n")
    at = 0
    for i, ln in enumerate(lines):
        if IMPORT_LINE.match(ln):
            at = i + 1
    if at == 0 and lines and (lines[0].startswith("#!") or lines[0].startswith('"""')):
        at = 1 if lines[0].startswith("#!") else 0
    return "\n".join(lines[:at] + missing + lines[at:])
