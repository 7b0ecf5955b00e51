"""Definitions and references of one file, from tree-sitter tag queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from coder_cli.context.grammars import parser_and_query
from coder_cli.core.languages import is_binary

MAX_LINE = 160


@dataclass(frozen=True)
class Def:
    name: str
    kind: str  # class, function, method, interface, type, module, constant, ...
    line: int  # 0-based line of the name
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    scope: int  # index of the enclosing definition in FileTags.defs, or -1
    text: str  # the source line holding the name, trimmed

    def as_tuple(self) -> tuple:
        return (
            self.name,
            self.kind,
            self.line,
            self.start_line,
            self.end_line,
            self.start_byte,
            self.end_byte,
            self.scope,
            self.text,
        )


@dataclass
class FileTags:
    defs: list[Def] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)  # name -> number of references
    has_error: bool = False
    binary: bool = False

    def dump(self) -> tuple:
        return (1, [d.as_tuple() for d in self.defs], self.refs, self.has_error, self.binary)

    @classmethod
    def load(cls, data: tuple) -> FileTags:
        version, defs, refs, has_error, binary = data
        if version != 1:
            raise ValueError("unknown tag format")
        return cls([Def(*d) for d in defs], refs, has_error, binary)


def extract(source: bytes, lang: str) -> FileTags:
    """Tags of SOURCE. A file with syntax errors still yields the tags of its valid parts."""
    from tree_sitter import QueryCursor

    if is_binary(source):
        return FileTags(binary=True)
    parser, query = parser_and_query(lang)
    tree = parser.parse(source)
    lines = source.split(b"\n")
    found: list[tuple[int, int, Def]] = []
    refs: dict[str, int] = {}
    for _, captures in QueryCursor(query).matches(tree.root_node):
        for cap, nodes in captures.items():
            if cap.startswith("name.reference."):
                for node in nodes:
                    name = node.text.decode("utf-8", "replace")
                    refs[name] = refs.get(name, 0) + 1
            elif cap.startswith("name.definition."):
                kind = cap[len("name.definition.") :]
                outer = captures.get(f"definition.{kind}")
                for node in nodes:
                    span = outer[0] if outer else node
                    row = node.start_point[0]
                    text = lines[row].decode("utf-8", "replace").rstrip() if row < len(lines) else ""
                    found.append(
                        (
                            span.start_byte,
                            -span.end_byte,
                            Def(
                                node.text.decode("utf-8", "replace"),
                                kind,
                                row,
                                span.start_point[0],
                                span.end_point[0],
                                span.start_byte,
                                span.end_byte,
                                -1,
                                text[:MAX_LINE],
                            ),
                        )
                    )
    found.sort(key=lambda t: (t[0], t[1], t[2].line, t[2].name))
    defs: list[Def] = []
    stack: list[int] = []  # indexes of open enclosing definitions
    for _, _, d in found:
        while stack and defs[stack[-1]].end_byte <= d.start_byte:
            stack.pop()
        scope = stack[-1] if stack else -1
        if defs and defs[-1].start_byte == d.start_byte and defs[-1].name == d.name:
            continue  # the same definition matched by two patterns
        defs.append(Def(d.name, d.kind, d.line, d.start_line, d.end_line, d.start_byte, d.end_byte, scope, d.text))
        stack.append(len(defs) - 1)
    return FileTags(defs, refs, tree.root_node.has_error)
