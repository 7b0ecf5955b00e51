"""Unified diffs that `git apply` accepts, in the file's own newline style."""

from __future__ import annotations

import difflib


def unified(rel: str, old: str, new: str, newline: str = "\n") -> str:
    """The patch from OLD to NEW (texts with "\\n" newlines) for the file REL."""
    a = old.replace("\n", newline).splitlines(keepends=True)
    b = new.replace("\n", newline).splitlines(keepends=True)
    out = []
    for line in difflib.unified_diff(a, b, f"a/{rel}", f"b/{rel}"):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
