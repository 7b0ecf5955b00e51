"""From a chat reply to proposed file changes: whole functions, classes or files, never fragments.

A code block is matched to a file in the chat by the path written just before it, else by the
definitions it holds, else to the only file in the chat. A block that defines functions or
classes replaces the ones of the same name (and adds the new ones at the end of the file); a
block that holds every top-level definition of the file, or follows the file's path and holds
no definitions at all, replaces the whole file. Anything else is left alone, with a note.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from coder_cli.core.edits import IMPORT_LINE, CodeBlock, add_imports, code_blocks, replace_lines

UNIT_KINDS = {"function", "method", "class"}
_PLACEHOLDER = re.compile(
    r"^\s*(?:(?:#|//)\s*)?(?:\.\.\.|…)\s*(?:(?:#|//)?\s*\(?(?:rest|existing|other|unchanged|same|remaining|previous)\b.*)?$"
    r"|^\s*(?:#|//)\s*(?:\.\.\.\s*)?(?:rest of|the rest|existing code|remaining code|other (?:methods|functions))\b",
    re.I,
)


@dataclass(frozen=True)
class Edit:
    rel: str
    before: str  # the file's text the edit was made against
    after: str
    summary: str  # "replace function greet, add function wave"


@dataclass
class Proposal:
    edits: list[Edit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why a block was not used


def propose(reply: str, files: Mapping[str, str]) -> Proposal:
    """The changes REPLY makes to FILES (rel -> text), one Edit per changed file, in reply order."""
    out = Proposal()
    texts = dict(files)
    what: dict[str, list[str]] = {}
    for block in code_blocks(reply):
        if not block.code.strip() or not block.complete:
            continue
        rel = _target(block, texts)
        if rel is None:
            if texts and _defs(block.code, _lang(next(iter(texts)))):
                out.notes.append("a code block was not matched to a file in the chat (write the path before it)")
            continue
        try:
            new, did = _apply(block, rel, texts[rel])
        except _Skip as exc:
            out.notes.append(f"{rel}: {exc}")
            continue
        if new != texts[rel]:
            texts[rel] = new
            what.setdefault(rel, []).extend(did)
    for rel, did in what.items():
        if texts[rel] != files[rel]:
            out.edits.append(Edit(rel, files[rel], texts[rel], ", ".join(dict.fromkeys(did))))
    return out


class _Skip(ValueError):
    pass


def _lang(rel: str) -> str | None:
    from coder_cli.context.languages import SUPPORTED, language_for

    lang = language_for(rel)
    return lang if lang in SUPPORTED else None


def _defs(code: str, lang: str | None) -> list:
    """Top-level functions and classes of CODE (tree-sitter tags), [] for unknown languages."""
    if lang is None:
        return []
    from coder_cli.context.tags import extract

    return [d for d in extract(code.encode("utf-8"), lang).defs if d.scope == -1 and d.kind in UNIT_KINDS]


def _all_defs(code: str, lang: str | None) -> list:
    if lang is None:
        return []
    from coder_cli.context.tags import extract

    return [d for d in extract(code.encode("utf-8"), lang).defs if d.kind in UNIT_KINDS]


def _names_file(lead: str, rel: str) -> bool:
    name = PurePosixPath(rel).name
    return rel in lead or re.search(rf"(^|[\s`'\"(/]){re.escape(name)}($|[\s`'\":),])", lead) is not None


def _target(block: CodeBlock, texts: Mapping[str, str]) -> str | None:
    named = [rel for rel in texts if block.lead and _names_file(block.lead, rel)]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:  # "src/a.py" and "a.py": the longest path written wins
        return max(named, key=len)
    scores = {}
    for rel, text in texts.items():
        lang = _lang(rel)
        mine = {d.name for d in _all_defs(text, lang)}
        theirs = {d.name for d in _defs(block.code, lang)}
        if mine & theirs:
            scores[rel] = len(mine & theirs)
    if scores:
        best = max(scores.values())
        top = [rel for rel, n in scores.items() if n == best]
        return top[0] if len(top) == 1 else None
    if len(texts) == 1:
        rel = next(iter(texts))
        if _lang(rel) is None or _defs(block.code, _lang(rel)):
            return rel
    return None


def _unit_lines(code: str, d) -> str:
    lines = code.split("\n")
    first = d.start_line
    while first > 0 and lines[first - 1].lstrip().startswith("@"):
        first -= 1
    return "\n".join(lines[first : d.end_line + 1]) + "\n"


def _span(text: str, d) -> tuple[int, int]:
    lines = text.split("\n")
    first = d.start_line
    while first > 0 and lines[first - 1].lstrip().startswith("@"):
        first -= 1
    return first, d.end_line


def _apply(block: CodeBlock, rel: str, text: str) -> tuple[str, list[str]]:
    lang = _lang(rel)
    code = block.code
    if any(_PLACEHOLDER.match(ln) for ln in code.split("\n")) and not any(_PLACEHOLDER.match(ln) for ln in text.split("\n")):
        raise _Skip("the reply elides code ('...'); ask for the complete function")
    theirs = _defs(code, lang)
    mine = _defs(text, lang)
    whole = (mine and {d.name for d in mine} <= {d.name for d in theirs}) or (
        not theirs and _names_file(block.lead, rel) and (lang is None or not mine)
    )
    if whole:
        new = code if code.endswith("\n") or not text.endswith("\n") else code + "\n"
        return new, ["rewrite the whole file"]
    if not theirs:
        raise _Skip("a code block without a whole function or class was not applied")
    did: list[str] = []
    new = text
    for d in theirs:
        unit = _unit_lines(code, d)
        current = _all_defs(new, lang)
        same = [c for c in current if c.name == d.name]
        top = [c for c in same if c.scope == -1]
        match = top[0] if top else (same[0] if len(same) == 1 else None)
        kind = "class" if d.kind == "class" else "function"
        if match is not None:
            first, last = _span(new, match)
            new = replace_lines(new, first, last, unit)
            did.append(f"replace {kind} {d.name}")
        else:
            gap = "\n\n" if lang == "python" else "\n"
            new = new.rstrip("\n") + "\n" + gap + unit
            did.append(f"add {kind} {d.name}")
    if lang == "python":
        new = add_imports(new, [ln for ln in code.split("\n") if IMPORT_LINE.match(ln)])
    return new, did
