"""`coder map`: the ranked repository map."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from coder_cli.config import project_root
from coder_cli.errors import UsageError


def map_root(path: Path | None, cwd: Path) -> Path:
    if path is None:
        return project_root(cwd)
    path = (cwd / path).resolve()
    if not path.exists():
        raise UsageError(f"no such folder: {path}")
    if not path.is_dir():
        raise UsageError(f"{path} is a file; give the folder to map (and --focus the file)")
    return path


def run_map(
    root: Path,
    home: Path,
    *,
    budget: int,
    focus: Sequence[str],
    count_tokens: Callable[[str], int],
    tokenizer_id: str,
    cwd: Path,
    warn: Callable[[str], None],
    progress: Callable[[int, int], None] | None,
    time_budget: float,
):
    from coder_cli.context.repomap import RepoIndex, build_map

    if budget <= 0:
        raise UsageError("--budget must be greater than 0")
    index = RepoIndex(root, home, warn=warn, progress=progress, time_budget=time_budget)
    try:
        return build_map(index, budget=budget, count_tokens=count_tokens, tokenizer_id=tokenizer_id, focus=focus, cwd=cwd)
    finally:
        index.close()
