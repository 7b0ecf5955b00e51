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

from coder_cli.core.edits import IMPORT_LINE, CodeBlock, add_imports, code_blocks, reindent, replace_lines, unit_first_line

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
        rel, why = _target(block, texts)
        if rel is None:
            if why:
                out.notes.append(why)
            elif texts and _defs(block.code, _lang(next(iter(texts)))):
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
    from coder_cli.core.languages import SUPPORTED, language_for

    lang = language_for(rel)
    return lang if lang in SUPPORTED else None


def _tags(code: str, lang: str | None) -> list:
    """Every definition of CODE (tree-sitter tags; ``scope`` indexes this list), [] for unknown languages."""
    if lang is None:
        return []
    from coder_cli.context.tags import extract

    # surrogatepass: a reply may hold a lone surrogate (a remote server's JSON can carry one); its
    # bytes keep every line where it was, and the file's write refuses what cannot be encoded.
    return extract(code.encode("utf-8", errors="surrogatepass"), lang).defs


def _all_defs(code: str, lang: str | None) -> list:
    """The functions, methods and classes of CODE, at any depth."""
    return [d for d in _tags(code, lang) if d.kind in UNIT_KINDS]


def _defs(code: str, lang: str | None) -> list:
    """The top-level functions and classes of CODE."""
    return [d for d in _all_defs(code, lang) if d.scope == -1]


_PATHLIKE = re.compile(r"[\w.-]+(?:/[\w.-]+)*\.[A-Za-z]\w{0,5}\b")
_NOT_CODE = {"text", "txt", "console", "output", "shell-session", "log", "plaintext"}


def _names_file(lead: str, rel: str) -> bool:
    """Whether LEAD names REL: the path, or its file name, as a whole word (`test_util.py` is not `util.py`)."""
    name = PurePosixPath(rel).name
    return any(re.search(rf"(?<![\w./-]){re.escape(x)}(?![\w/-]|\.\w)", lead) for x in (rel, name))


def _target(block: CodeBlock, texts: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The file in the chat BLOCK is for, or (None, why not) — why is None when there is nothing to say."""
    named = [rel for rel in texts if block.lead and _names_file(block.lead, rel)]
    if named:
        longest = max(len(r) for r in named)
        top = [r for r in named if len(r) == longest]
        if len(top) == 1:
            return top[0], None
        return None, f"the reply names {PurePosixPath(top[0]).name}, which fits {' and '.join(top)}; write the full path"
    others = _PATHLIKE.findall(block.lead)
    if others:  # written for a file that is not in the chat (a new one, a test file)
        return None, f"the reply writes {others[-1]}, which is not in the chat (/add it first to let coder change it)"
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
        return (top[0], None) if len(top) == 1 else (None, "a code block fits several files in the chat; write its path first")
    if len(texts) == 1:
        rel = next(iter(texts))
        if _defs(block.code, _lang(rel)):
            return rel, None
    return None, None


def _unit_lines(code: str, d) -> str:
    first, last = _span(code, d)
    return "\n".join(code.split("\n")[first : last + 1]) + "\n"


def _span(text: str, d) -> tuple[int, int]:
    return unit_first_line(text.split("\n"), d.start_line), d.end_line


def _outside_defs(text: str, defs) -> list[str]:
    """The non-blank top-level lines of TEXT outside DEFS (imports, constants, a main guard...)."""
    lines = text.split("\n")
    inside = set()
    for d in defs:
        first, last = _span(text, d)
        inside.update(range(first, last + 1))
    return [ln.strip() for i, ln in enumerate(lines) if i not in inside and ln.strip()]


def _lang_fits(block: CodeBlock, rel: str) -> bool:
    from coder_cli.core.ask_prompts import language_of

    want = language_of(rel)
    tag = block.lang
    return not tag or tag == want or want.startswith(tag) or tag.startswith(want[:2] or "\0")


def _apply(block: CodeBlock, rel: str, text: str) -> tuple[str, list[str]]:
    lang = _lang(rel)
    code = block.code
    file_lines = {ln.strip() for ln in text.split("\n")}
    if any(_PLACEHOLDER.match(ln) and ln.strip() not in file_lines for ln in code.split("\n")):
        raise _Skip("the reply elides code ('...'); ask for the complete function")
    if block.lang in _NOT_CODE or not _lang_fits(block, rel):
        raise _Skip(f"a ```{block.lang} block is not {rel}'s language; not applied")
    theirs = _defs(code, lang)
    mine = _defs(text, lang)
    if _is_whole(block, rel, text, mine, theirs):
        if any(ln.lstrip().startswith(("```", "~~~")) for ln in text.split("\n")):
            raise _Skip("the file holds code fences of its own, which a reply cannot carry whole; not rewritten")
        new = code if code.endswith("\n") or not text.endswith("\n") else code + "\n"
        return new, ["rewrite the whole file"]
    if not theirs:
        raise _Skip("a code block without a whole function or class was not applied")
    did: list[str] = []
    new = text
    for d in theirs:
        new = _replace_unit(new, lang, code, d, did)
    if lang == "python":
        new = add_imports(new, [ln for ln in code.split("\n") if IMPORT_LINE.match(ln)])
    return new, did


def _is_whole(block: CodeBlock, rel: str, text: str, mine, theirs) -> bool:
    """A whole-file rewrite: the block holds every top-level definition and every other top-level
    line of the file (so nothing is lost), or follows the file's path and the file has no
    definitions to lose."""
    if mine:
        if not {d.name for d in mine} <= {d.name for d in theirs}:
            return False
        kept = set(_outside_defs(block.code, theirs))
        return all(line in kept for line in _outside_defs(text, mine))
    return not theirs and _names_file(block.lead, rel)


def _replace_unit(new: str, lang: str | None, code: str, d, did: list[str]) -> str:
    current = _all_defs(new, lang)
    same = [c for c in current if c.name == d.name]
    top = [c for c in same if c.scope == -1]
    kind = "class" if d.kind == "class" else "function"
    if top:
        match = top[0]
        if d.kind == "class" and match.kind == "class":
            partial = _partial_class(new, lang, code, d, match)
            if partial is not None:
                return _merge_methods(new, lang, code, d, match, partial, did)
    elif len(same) == 1:
        match = same[0]
    elif same:
        raise _Skip(f"{d.name} is defined {len(same)} times in the file; ask for the whole class")
    else:
        gap = "\n\n" if lang == "python" else "\n"
        did.append(f"add {kind} {d.name}")
        return new.rstrip("\n") + "\n" + gap + _unit_lines(code, d)
    first, last = _span(new, match)
    did.append(f"replace {kind} {d.name}")
    return replace_lines(new, first, last, _unit_lines(code, d))


def _members(text: str, lang: str | None, cls) -> dict[str, object]:
    """The functions defined directly in the class CLS of TEXT, by name."""
    tags = _tags(text, lang)
    index = tags.index(cls)
    return {m.name: m for m in tags if m.scope == index and m.kind in UNIT_KINDS}


def _partial_class(text: str, lang, code: str, d, match):
    """The block's methods when its class lacks methods the file's class has (a partial class)."""
    theirs = _members(code, lang, d)
    mine = _members(text, lang, match)
    return theirs if set(mine) - set(theirs) else None


def _merge_methods(new: str, lang, code: str, d, match, theirs: dict, did: list[str]) -> str:
    """Replace the file's methods by the block's, one by one (the methods the block leaves out stay)."""
    for name, m in theirs.items():
        cls = next(c for c in _all_defs(new, lang) if c.name == match.name and c.scope == -1)
        mine = _members(new, lang, cls)
        if name in mine:
            first, last = _span(new, mine[name])
            new = replace_lines(new, first, last, _unit_lines(code, m))
            did.append(f"replace method {d.name}.{name}")
        else:
            last = cls.end_line
            lines = new.split("\n")
            indent = next((ln[: len(ln) - len(ln.lstrip())] for ln in lines[cls.start_line + 1 : last + 1] if ln.strip()), "    ")
            lines[last + 1 : last + 1] = ["", *reindent(_unit_lines(code, m), indent).rstrip("\n").split("\n")]
            new = "\n".join(lines)
            did.append(f"add method {d.name}.{name}")
    return new
