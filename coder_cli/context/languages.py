"""Which tree-sitter language a file is, by extension or shebang."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import PurePosixPath

from coder_cli.core.languages import EXTENSIONS

# interpreter named by a shebang -> language
INTERPRETERS: dict[str, str] = {
    "python": "python",
    "python3": "python",
    "node": "javascript",
    "bash": "bash",
    "sh": "bash",
    "zsh": "bash",
    "ruby": "ruby",
    "php": "php",
    "lua": "lua",
}
# tag query files per language (TSX shares TypeScript's; JSX patterns where the grammar has JSX)
QUERY_FILES = {"tsx": ("typescript", "jsx"), "javascript": ("javascript", "jsx")}

SUPPORTED = frozenset(EXTENSIONS.values())


def language_for(path: str, head: bytes = b"") -> str | None:
    """The language of PATH, from its extension, else from a shebang in HEAD."""
    lang = EXTENSIONS.get(PurePosixPath(path).suffix.lower())
    if lang or not head.startswith(b"#!"):
        return lang
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if not first:
        return None
    prog = first[0].rsplit("/", 1)[-1]
    if prog == "env" and len(first) > 1:
        prog = first[1]
    prog = prog.rstrip("0123456789.") or prog
    return INTERPRETERS.get(prog) or INTERPRETERS.get(prog + "3")


@cache
def query_source(lang: str) -> str:
    folder = resources.files("coder_cli.context").joinpath("queries")
    names = QUERY_FILES.get(lang, (lang,))
    return "\n".join(folder.joinpath(f"{name}.scm").read_text(encoding="utf-8") for name in names)


@cache
def parser_and_query(lang: str):
    """(tree_sitter.Parser, tree_sitter.Query) for LANG; grammars are bundled, nothing is downloaded."""
    from tree_sitter import Parser, Query
    from tree_sitter_language_pack import get_language

    language = get_language(lang)
    return Parser(language), Query(language, query_source(lang))
