"""Prompts for `coder commit-msg` and `coder review`.

Both send the same system prompt and then the same rendering of the diff, and only after it the
task: a warm engine (or `coder serve`) that has just read one of them reuses the diff's tokens for
the other. Keep this order; put anything task-specific after the diff.
"""

from __future__ import annotations

SYSTEM = "You are coder, an expert software engineer. You read git diffs and answer in exactly the format asked."

CONVENTIONAL_TYPES = ("feat", "fix", "docs", "style", "refactor", "perf", "test", "build", "ci", "chore", "revert")


def diff_message(diff_text: str) -> str:
    """The user message's first part, the same for every task."""
    return "Here are the changes:\n\n" + diff_text


def commit_instructions(conventional: bool) -> str:
    if conventional:
        # Listing all eleven types made the 0.5B model write one line per type; core.commit_msg
        # checks and repairs the type it picks instead.
        return (
            "Write a one-line Conventional Commits message for these changes, like feat: ..., fix: ... or refactor: ..., "
            "saying what the change does in at most 60 characters.\n"
            "Reply with that line only."
        )
    return (
        "Write a git commit message for these changes.\n"
        "First line: a summary of what the change does, in the imperative mood "
        '(e.g. "Add ...", "Fix ...", "Update ..."), at most 60 characters, no period.\n'
        "Then, only if it helps, a blank line and one or two short sentences on why.\n"
        "Reply with the commit message only: no quotes, no code, no diff."
    )


def review_instructions() -> str:
    # Small models write code far better than reviews: they are asked for the fixed code, and
    # core.suggestions turns each line they correct into a finding (see its docstring).
    return "Write the new version of the changed code with its bugs fixed, in one code block. Change only lines that are wrong."


def task_messages(diff_text: str, instructions: str) -> list[dict]:
    """System prompt, then one user message: the diff first, the task after it."""
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": diff_message(diff_text) + "\n" + instructions},
    ]
