"""The one language table: source languages by extension or shebang (tree-sitter names), and Markdown fence tags.

Used for tree-sitter parsing (`context.grammars`), code fences in prompts, `--lang` in filter mode and
the fix checks. Pure data and lookups.
"""

from __future__ import annotations

from pathlib import PurePosixPath

# extension -> tree-sitter-language-pack name
EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".swift": "swift",
    ".sh": "bash",
    ".bash": "bash",
    ".lua": "lua",
    ".scala": "scala",
    ".sc": "scala",
}


SUPPORTED = frozenset(EXTENSIONS.values())

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

# Fence tags: the source languages, plus the text formats people pipe in.
FENCE_TAGS = {
    **EXTENSIONS,
    ".jsx": "jsx",
    ".md": "markdown",
    ".json": "json",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".sql": "sql",
    ".html": "html",
    ".css": "css",
    ".diff": "diff",
    ".patch": "diff",
}


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


def fence_tag(path: str) -> str:
    """The Markdown fence tag for PATH (\"\" when unknown)."""
    return FENCE_TAGS.get(PurePosixPath(path).suffix.lower(), "")


def is_binary(data: bytes) -> bool:
    """A NUL byte in the first 8 KB: what git and grep call binary."""
    return b"\0" in data[:8192]
