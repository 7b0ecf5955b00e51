"""Fill-in-the-middle prompt layout as token sequences.

llama-cpp-python's ``create_completion(prompt, suffix=...)`` inserts token id 0
where the FIM tokens belong, so FIM prompts are built here from the
vocabulary's special-token ids and the tokenized text pieces.
"""

from __future__ import annotations

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
