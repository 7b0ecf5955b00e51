"""The bundled tree-sitter grammars: a parser and the tag query for each language of `core.languages`."""

from __future__ import annotations

from functools import cache
from importlib import resources

# tag query files per language (TSX shares TypeScript's; JSX patterns where the grammar has JSX)
QUERY_FILES = {"tsx": ("typescript", "jsx"), "javascript": ("javascript", "jsx")}


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
