"""Prompts for `coder chat`: small named functions that return text and messages.

The order is fixed so that llama.cpp reuses the longest common token prefix from one
turn to the next: system prompt, repository map, files, earlier turns, the new turn.
"""

from __future__ import annotations

from collections.abc import Sequence

from coder_cli.core.ask_prompts import language_of
from coder_cli.core.extract import fence

CHAT_SYSTEM = (
    "You are coder, an expert programming assistant working in the user's repository from a terminal. "
    "Answer directly and concisely. Put code in fenced Markdown code blocks with a language tag.\n"
    "To change a file shown below, write its path on a line of its own, then a code block with the "
    "complete new version of each function or class you change (or the complete file when most of it "
    "changes). Never write partial functions, placeholders or '...'."
)


def system_text(map_text: str | None, files: Sequence[tuple[str, str]], system: str = CHAT_SYSTEM) -> str:
    """The system message: instructions, then the repository map, then every file in the chat."""
    parts = [system]
    if map_text:
        parts.append(f"Repository map (other files, their definitions):\n{fence(map_text)}")
    for rel, text in files:
        parts.append(f"{rel}\n{fence(text, language_of(rel))}")
    return "\n\n".join(parts)


def user_text(question: str, attachments: Sequence[str] = ()) -> str:
    """The user's turn: command outputs they chose to share, then the question."""
    return "\n\n".join([*attachments, question])


def command_output(command: str, code: int, output: str) -> str:
    return f"I ran `{command}` (exit code {code}). Its output:\n{fence(output)}"


def messages(system: str, turns: Sequence[tuple[str, str]], question: str | None) -> list[dict]:
    """SYSTEM, the earlier (user, assistant) TURNS, and the new QUESTION when given."""
    out = [{"role": "system", "content": system}]
    for user, assistant in turns:
        out.append({"role": "user", "content": user})
        out.append({"role": "assistant", "content": assistant})
    if question is not None:
        out.append({"role": "user", "content": question})
    return out
