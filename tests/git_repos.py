"""Real git repositories in temporary folders for the commit-msg and review tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

STATS = (
    'def mean(values):\n    """The average of VALUES."""\n    return sum(values) / len(values) if values else 0.0\n\n\n'
    "def is_adult(age):\n    return age >= 18\n"
)
# The same module with two obvious bugs: a division by zero and a wrong comparison.
STATS_BUGGY = (
    'def mean(values):\n    """The average of VALUES."""\n    total = 0\n    for v in values:\n        total += v\n'
    "    return total / 0\n\n\ndef is_adult(age):\n    return age <= 18\n"
)


def git(repo: Path, *args: str, env: dict | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout


def make_repo(tmp_path: Path, files: dict[str, str], name: str = "repo", commit: bool = True) -> Path:
    """A repository NAME holding FILES (path -> text), committed once unless COMMIT is false."""
    repo = tmp_path / name
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.com")
    git(repo, "config", "commit.gpgsign", "false")
    write(repo, files)
    if commit and files:
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "initial")
    return repo


def write(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)


def stage(repo: Path, files: dict[str, str]) -> None:
    write(repo, files)
    git(repo, "add", "-A")
