"""Fill-in-the-middle prompt layout as token sequences.

llama-cpp-python's ``create_completion(prompt, suffix=...)`` inserts token id 0
where the FIM tokens belong, so FIM prompts are built here from the
vocabulary's special-token ids and the tokenized text pieces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FimTokens:
    prefix: int
    suffix: int
    middle: int
    repo_name: int
    file_sep: int


def fim_tokens(special_id: Callable[[str], int], fmt) -> FimTokens:
    """Resolve a manifest PromptFormat's FIM tokens to ids (raises if the vocabulary lacks one)."""
    return FimTokens(
        prefix=special_id(fmt.fim_prefix),
        suffix=special_id(fmt.fim_suffix),
        middle=special_id(fmt.fim_middle),
        repo_name=special_id(fmt.repo_name),
        file_sep=special_id(fmt.file_sep),
    )


def fim_layout(
    tokenize: Callable[[str], list[int]],
    ids: FimTokens,
    prefix: str,
    suffix: str,
    *,
    repo: str | None = None,
    path: str | None = None,
    context_files: Sequence[tuple[str, str]] = (),
) -> list[int]:
    """The token sequence for one fill.

    Bare: ``<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>``.
    Repository level (when REPO is given):
    ``<|repo_name|>{repo}\\n<|file_sep|>{path}\\n{text}…<|file_sep|>{path}\\n<|fim_prefix|>…``.
    Text pieces are tokenized without special-token parsing, so a file that
    contains the literal text ``<|fim_prefix|>`` cannot inject a control token.
    """
    out: list[int] = []
    if repo is not None:
        out += [ids.repo_name, *tokenize(f"{repo}\n")]
        for file_path, text in context_files:
            out += [ids.file_sep, *tokenize(f"{file_path}\n{text}")]
        out += [ids.file_sep, *tokenize(f"{path or 'untitled'}\n")]
    out += [ids.prefix, *tokenize(prefix), ids.suffix, *tokenize(suffix), ids.middle]
    return out


MARKER = "<FILL>"


class PositionError(ValueError):
    """A cursor position that is not in the file."""


def offset_of(text: str, line: int, col: int | None = None) -> int:
    """The character offset of 1-based LINE and COL in TEXT; COL None means the end of the line's text.

    Raises PositionError with a message that names the file's real extent.
    """
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # the empty piece after the final newline is not a line
    count = max(len(lines), 1)
    if line < 1:
        raise PositionError(f"line {line}: lines start at 1")
    if line > count + 1 or (line == count + 1 and text and not text.endswith("\n")):
        raise PositionError(f"line {line} is past the end of the file ({len(lines)} line{'s' * (len(lines) != 1)})")
    start = sum(len(ln) + 1 for ln in lines[: line - 1])
    current = lines[line - 1] if line <= len(lines) else ""
    if col is None:
        return start + len(current)
    if col < 1:
        raise PositionError(f"column {col}: columns start at 1")
    if col > len(current) + 1:
        raise PositionError(f"column {col} is past the end of line {line} ({len(current)} characters)")
    return start + col - 1


def prefix_window(lines: list[str], budget: int, count: Callable[[str], int]) -> int:
    """The first line of LINES (the prefix, split after each newline) to show within BUDGET tokens.

    Nearby cursors should share the prompt (the engine reuses the longest common token
    prefix), so the window start is not the latest line that fits: it moves in jumps
    of half the budget, on fixed token marks counted from the top of the file. Moving
    the cursor down keeps the same start until the prefix would overflow, then the
    start jumps half a budget ahead, and stays there for another half budget.
    """
    sizes = [count(ln) for ln in lines]
    total = sum(sizes)
    if total <= budget:
        return 0
    step = max(budget // 2, 1)
    mark = -(-(total - budget) // step) * step  # the first multiple of STEP that leaves <= BUDGET
    seen = 0
    for i, n in enumerate(sizes):
        if seen >= mark:
            return i
        seen += n
    return len(lines) - 1


def suffix_window(lines: list[str], budget: int, count: Callable[[str], int]) -> int:
    """How many of LINES (the suffix, split after each newline) fit BUDGET tokens; at least one
    (the rest of the cursor's own line), cut at a line boundary."""
    used = 0
    for i, ln in enumerate(lines):
        used += count(ln)
        if used > budget and i > 0:
            return i
    return len(lines)


def split_keep(text: str) -> list[str]:
    """TEXT split after each newline (the pieces join back to TEXT)."""
    return _PIECES.findall(text)


_PIECES = re.compile(r"[^\n]*\n|[^\n]+$")
