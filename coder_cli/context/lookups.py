"""Lookups used by `fix` and FIM: the scope around a line, definitions, references, syntax errors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from coder_cli.context.grammars import parser_and_query
from coder_cli.context.tags import FileTags, extract
from coder_cli.core.languages import language_for

SCOPE_KINDS = {"class", "function", "method", "interface", "module", "enum", "type"}


@dataclass(frozen=True)
class Scope:
    kind: str
    name: str
    start_line: int  # 0-based, inclusive
    end_line: int
    start_byte: int
    end_byte: int


@dataclass(frozen=True)
class Definition:
    path: str
    name: str
    kind: str
    start_line: int
    end_line: int
    source: str


@dataclass(frozen=True)
class Reference:
    path: str
    line: int  # 0-based
    text: str


@dataclass(frozen=True)
class SyntaxIssue:
    line: int  # 0-based
    column: int
    kind: str  # "error" or "missing"
    text: str


def _tags(path: Path, lang: str | None = None) -> tuple[bytes, str, FileTags]:
    source = path.read_bytes()
    lang = lang or language_for(path.name, source[:256])
    if lang is None:
        raise ValueError(f"no tree-sitter language for {path}")
    return source, lang, extract(source, lang)


def enclosing_scope(path: Path, line: int, lang: str | None = None) -> Scope | None:
    """The innermost function/class (or similar) containing 0-based LINE, with its byte span."""
    _, _, tags = _tags(path, lang)
    best = None
    for d in tags.defs:
        if d.kind in SCOPE_KINDS and d.start_line <= line <= d.end_line:
            if best is None or d.start_byte >= best.start_byte:
                best = d
    if best is None:
        return None
    return Scope(best.kind, best.name, best.start_line, best.end_line, best.start_byte, best.end_byte)


def definitions(index, names: Iterable[str]) -> list[Definition]:
    """Every definition of NAMES in the indexed repository, with its source text (index must be scanned)."""
    wanted = set(names)
    out = []
    for rel in sorted(index.tags):
        defs = index.tags[rel][1]
        hits = [d for d in defs if d[0] in wanted]
        if not hits:
            continue
        try:
            source = (index.root / rel).read_bytes()
        except OSError:
            continue
        for d in hits:
            text = source[d[5] : d[6]].decode("utf-8", "replace")
            out.append(Definition(rel, d[0], d[1], d[3], d[4], text))
    return out


def reference_lines(path: Path, lang: str, name: str) -> list[tuple[int, str]]:
    """(0-based line, stripped text) of each line of PATH that references NAME."""
    from tree_sitter import QueryCursor

    try:
        source = path.read_bytes()
    except OSError:
        return []
    parser, query = parser_and_query(lang)
    lines = source.split(b"\n")
    tree = parser.parse(source)
    rows = set()
    encoded = name.encode("utf-8")
    for cap, nodes in QueryCursor(query).captures(tree.root_node).items():
        if cap.startswith("name.reference."):
            rows.update(node.start_point[0] for node in nodes if node.text == encoded)
    return [(row, lines[row].decode("utf-8", "replace").strip()) for row in sorted(rows)]


def references(index, name: str) -> list[Reference]:
    """Where NAME is referenced (calls, types, imports), from files whose cached tags mention it."""
    out = []
    lang_of = {f.rel: f.lang for f in index.list().files}
    for rel in sorted(index.tags):
        if name in index.tags[rel][2] and rel in lang_of:
            out += [Reference(rel, row, text) for row, text in reference_lines(index.root / rel, lang_of[rel], name)]
    return out


def syntax_errors(path: Path, lang: str | None = None, limit: int = 20) -> list[SyntaxIssue]:
    """ERROR and MISSING nodes of a file, in order (empty when it parses cleanly)."""
    source = path.read_bytes()
    lang = lang or language_for(path.name, source[:256])
    if lang is None:
        raise ValueError(f"no tree-sitter language for {path}")
    parser, _ = parser_and_query(lang)
    tree = parser.parse(source)
    issues: list[SyntaxIssue] = []
    if not tree.root_node.has_error:
        return issues
    stack = [tree.root_node]
    while stack and len(issues) < limit:
        node = stack.pop()
        if node.is_missing:
            issues.append(SyntaxIssue(node.start_point[0], node.start_point[1], "missing", node.type))
        elif node.type == "ERROR":
            text = node.text.decode("utf-8", "replace").split("\n", 1)[0][:80]
            issues.append(SyntaxIssue(node.start_point[0], node.start_point[1], "error", text))
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return sorted(issues, key=lambda i: (i.line, i.column))


def reference_rows(source: bytes, lang: str) -> dict[str, list[int]]:
    """Every referenced name of SOURCE with the 0-based lines that reference it."""
    from tree_sitter import QueryCursor

    parser, query = parser_and_query(lang)
    tree = parser.parse(source)
    rows: dict[str, set[int]] = {}
    for cap, nodes in QueryCursor(query).captures(tree.root_node).items():
        if cap.startswith("name.reference."):
            for node in nodes:
                rows.setdefault(node.text.decode("utf-8", "replace"), set()).add(node.start_point[0])
    return {name: sorted(r) for name, r in rows.items()}


def error_count(source: bytes, lang: str) -> int:
    """How many ERROR and MISSING nodes tree-sitter finds in SOURCE (0: it parses)."""
    parser, _ = parser_and_query(lang)
    root = parser.parse(source).root_node
    if not root.has_error:
        return 0
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        if node.is_missing or node.type == "ERROR":
            count += 1
            if node.type == "ERROR":
                continue
        if node.has_error:
            stack.extend(node.children)
    return count


def parses_worse(name: str, old: str, new: str) -> str | None:
    """Why NEW (the new text of the file NAME) parses worse than OLD; None when it does not, or no
    parser knows the language. Python is also compiled: tree-sitter accepts an opener with no body."""
    from coder_cli.core.languages import SUPPORTED

    lang = language_for(name, old[:256].encode("utf-8"))
    if lang == "python" and compiles(old) and not compiles(new):
        return "the result has a syntax error (Python does not compile it) where the file had none"
    if lang not in SUPPORTED:
        return None
    before, after = error_count(old.encode("utf-8"), lang), error_count(new.encode("utf-8"), lang)
    if after > before:
        return f"the result has {after} syntax error(s) where the file had {before}"
    return None


def compiles(text: str) -> bool:
    """Whether Python compiles TEXT."""
    try:
        compile(text, "<file>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True
