"""Prompts for `coder ask`: small named functions that return messages."""

from __future__ import annotations

from dataclasses import dataclass

from coder_cli.core.extract import fence
from coder_cli.core.languages import fence_tag

ASK_SYSTEM = (
    "You are coder, an expert programming assistant in a terminal. "
    "Answer directly and concisely. Put code in fenced Markdown code blocks with a language tag."
)


def language_of(path: str) -> str:
    return fence_tag(path)


def guess_stdin_language(text: str) -> str:
    head = text.lstrip()[:200]
    if head.startswith("diff --git") or head.startswith("--- ") or head.startswith("@@ "):
        return "diff"
    return ""


@dataclass(frozen=True)
class Part:
    """One labelled piece of a prompt, so a context overflow can say what was included."""

    label: str
    text: str


def ask_parts(prompt: str | None, stdin_text: str | None, files: list[tuple[str, str]], system: str | None) -> list[Part]:
    """The pieces of an ask prompt in their stable order: system, files, stdin, question."""
    parts = [Part("system prompt", system if system is not None else ASK_SYSTEM)]
    for path, text in files:
        parts.append(Part(f"file {path}", f"{path}\n{fence(text, language_of(path))}"))
    if stdin_text:
        if prompt:
            parts.append(Part("stdin", fence(stdin_text, guess_stdin_language(stdin_text))))
        else:
            parts.append(Part("stdin", stdin_text))
    if prompt:
        parts.append(Part("prompt", prompt))
    return parts


def ask_messages(parts: list[Part]) -> list[dict]:
    system, rest = parts[0], parts[1:]
    messages = []
    if system.text:
        messages.append({"role": "system", "content": system.text})
    messages.append({"role": "user", "content": "\n\n".join(p.text for p in rest)})
    return messages
