"""The files of a repository: git's view inside a repository, a .gitignore-aware walk outside."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from coder_cli.core.languages import EXTENSIONS, language_for

MAX_BYTES = 1_000_000
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "env",
        ".env",
        "__pycache__",
        "dist",
        "build",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "site-packages",
        "target",
        "vendor",
        "third_party",
        ".idea",
        ".vscode",
        ".next",
        ".cache",
        "bower_components",
        ".gradle",
        "Pods",
        ".eggs",
    }
)


@dataclass(frozen=True)
class SourceFile:
    rel: str  # POSIX path relative to the root
    lang: str
    mtime_ns: int
    size: int


@dataclass
class FileSet:
    root: Path
    files: list[SourceFile] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> paths
    in_git: bool = False

    def skip(self, reason: str, rel: str) -> None:
        self.skipped.setdefault(reason, []).append(rel)


def _git_files(root: Path) -> list[str] | None:
    """Tracked plus untracked-but-not-ignored files, or None outside a git work tree."""
    if not (root / ".git").exists():
        return None
    try:
        import git

        repo = git.Repo(root)
        out = repo.git.ls_files("--cached", "--others", "--exclude-standard", "-z")
    except ImportError:  # pragma: no cover - declared dependency
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
    except Exception as exc:  # noqa: BLE001 - GitPython raises many types; fall back to a walk
        if type(exc).__module__.startswith("git"):
            return None
        raise
    return sorted({p for p in out.split("\0") if p})


def _ignored(specs, rel: str, is_dir: bool) -> bool:
    """Whether any .gitignore in force (each matched relative to its own folder) ignores REL."""
    for base, spec in specs:
        if spec.match_file(rel[len(base) :] + ("/" if is_dir else "")):
            return True
    return False


def _walk(root: Path) -> list[str]:
    """A walk that honours .gitignore files (root and nested) and skips vendored folders."""
    import pathspec

    out: list[str] = []
    specs: list[tuple[str, pathspec.PathSpec]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        specs = [(base, s) for base, s in specs if rel_dir.startswith(base)]
        if ".gitignore" in filenames:
            try:
                lines = (Path(dirpath) / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
                specs.append((rel_dir, pathspec.GitIgnoreSpec.from_lines(lines)))
            except OSError:
                pass

        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info") and not _ignored(specs, rel_dir + d, True)
        )
        for name in filenames:
            rel = rel_dir + name
            if not _ignored(specs, rel, False):
                out.append(rel)
    return sorted(out)


def all_files(root: Path) -> list[str]:
    """Every file of ROOT that git would list (or a .gitignore-honouring walk outside git), sorted."""
    root = root.resolve()
    names = _git_files(root)
    return names if names is not None else _walk(root)


def list_files(root: Path) -> FileSet:
    """Every supported source file under ROOT with its stat, and what was skipped and why."""
    root = root.resolve()
    names = _git_files(root)
    fs = FileSet(root=root, in_git=names is not None)
    if names is None:
        names = _walk(root)
    for rel in names:
        parts = rel.split("/")
        if any(p in SKIP_DIRS for p in parts[:-1]):
            fs.skip("vendored or generated folder", rel)
            continue
        path = root / rel
        try:
            st = path.stat()
        except OSError:
            continue  # deleted since git listed it
        if not path.is_file():
            continue
        lang = EXTENSIONS.get(os.path.splitext(rel)[1].lower())
        head = b""
        if lang is None:
            if os.path.splitext(rel)[1] or st.st_size == 0:
                continue  # an unsupported extension: not source we tag
            try:
                with path.open("rb") as fh:
                    head = fh.read(256)
            except OSError:
                continue
            lang = language_for(rel, head)
            if lang is None:
                continue
        if st.st_size > MAX_BYTES:
            fs.skip("over 1 MB", rel)
            continue
        fs.files.append(SourceFile(rel, lang, st.st_mtime_ns, st.st_size))
    return fs
