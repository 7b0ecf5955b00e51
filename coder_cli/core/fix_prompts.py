"""Prompts for `coder fix`: small named functions that return messages."""

from __future__ import annotations

from coder_cli.core.extract import fence

FIX_SYSTEM = (
    "You are an expert programmer who fixes bugs. You are given a failing check, the code around the failure "
    "and related definitions. Find the bug and reply with the corrected code in exactly one fenced code block. "
    "Keep names, signatures and behaviour that the check does not contradict; change only what fixes the bug."
)


def fix_request(
    *,
    check: str,
    digest: str,
    failure: str,
    unit_kind: str,
    unit_name: str,
    rel: str,
    lang: str,
    unit_text: str,
    first_line: int,
    test_source: str | None,
    related: list[tuple[str, str]],
    repo_map: str | None,
) -> str:
    parts = [f"The check ({check}) fails with:\n{digest}", f"Its output:\n{fence(failure)}"]
    if test_source:
        parts.append(f"The failing test (it is right; do not change it):\n{fence(test_source, lang)}")
    for label, text in related:
        parts.append(f"{label}:\n{fence(text, lang)}")
    if repo_map:
        parts.append(f"Other definitions in the repository:\n{fence(repo_map)}")
    what = "the whole file" if unit_kind == "file" else f"the {unit_kind} `{unit_name}`"
    parts.append(f"Here is {what} from {rel} (starting at line {first_line}):\n{fence(unit_text, lang)}")
    parts.append(
        f"Rewrite {what} with the bug fixed. Reply with the complete corrected "
        f"{'file' if unit_kind == 'file' else unit_kind} in one ```{lang} code block."
    )
    return "\n\n".join(parts)


def fix_unchanged(summary: str, what: str) -> str:
    return (
        f"Your {what} is the same as the buggy original, which fails with: {summary}\n"
        f"Change the code of {what} so that the test passes, and reply with the complete corrected {what} "
        "in one code block."
    )


def fix_unusable(reason: str, what: str) -> str:
    return f"That reply could not be used ({reason}). Reply with the complete corrected {what} in one code block."


def fix_retry(failure: str, same_as_before: bool, what: str) -> str:
    if same_as_before:
        return (
            f"Your {what} fails the same way:\n{fence(failure)}\nThink about what the test expects and try a "
            f"different fix. Reply with the complete corrected {what} in one code block."
        )
    return f"Your {what} still fails:\n{fence(failure)}\nFix it. Reply with the complete corrected {what} in one code block."


def naive_request(lang: str, code: str, error: str) -> str:
    """The one-shot baseline of the repair benchmark: the function and the error, nothing else."""
    return (
        f"This code has a bug:\n{fence(code, lang)}\n\nRunning its tests gives:\n{fence(error)}\n\n"
        f"Reply with the fixed code in one ```{lang} code block."
    )
