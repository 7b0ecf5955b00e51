"""`coder hook install|uninstall|status`: coder's git hooks in the repository's hooks folder.

An existing hook is never overwritten: it moves aside to NAME.coder-previous (bytes and
mode kept by the rename) and our hook runs it first; uninstall renames it back.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coder_cli.core.hooks import PREVIOUS_SUFFIX, HookSettings, parse_settings, recorded_python, render_script
from coder_cli.errors import ConfigError, GitError, UsageError

_MODE = 0o755


@dataclass(frozen=True)
class HooksFolder:
    path: Path
    hooks_path_config: str | None  # core.hooksPath when it is set (it chose the folder)


@dataclass(frozen=True)
class HookState:
    name: str
    path: Path
    state: str  # "missing", "ours" or "foreign"
    settings: HookSettings | None  # when ours
    previous: Path | None  # the chained previous hook, when there is one
    python: str | None = None  # the interpreter our hook runs, when ours

    def describe(self) -> str:
        if self.state == "missing":
            text = "not installed"
        elif self.state == "foreign":
            text = "another tool's hook is present (not coder's)"
        else:
            assert self.settings is not None
            text = f"installed ({self.settings.describe(self.name)})"
            if self.python and not os.access(self.python, os.X_OK):
                text += f"; its interpreter {self.python} is gone: run `coder hook install` again"
        if self.previous is not None:
            text += f"; chains the previous hook {self.previous.name}"
        return text


def _git(args: Sequence[str], cwd: Path, environ: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, env=dict(environ), capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"`git {' '.join(args)}` did not answer in 30 s") from None


def hooks_folder(cwd: Path, environ: Mapping[str, str]) -> HooksFolder:
    """The folder git runs hooks from for the repository at CWD (core.hooksPath and worktrees honoured).

    It may not exist yet. Raises GitError outside a repository.
    """
    proc = _git(["rev-parse", "--git-path", "hooks"], cwd, environ)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"git exited {proc.returncode}"
        raise GitError(f"not in a git repository: {cwd}", detail)
    path = (cwd / proc.stdout.strip()).resolve()
    config = _git(["config", "--get", "core.hooksPath"], cwd, environ)
    configured = config.stdout.strip() if config.returncode == 0 and config.stdout.strip() else None
    return HooksFolder(path, configured)


def _read(path: Path) -> str | None:
    """The hook file's text (undecodable bytes replaced), None when there is none."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _exists(path: Path) -> bool:
    return path.is_symlink() or path.exists()


def hook_state(folder: Path, name: str) -> HookState:
    path = folder / name
    previous = folder / f"{name}{PREVIOUS_SUFFIX}"
    text = _read(path)
    if text is None and not _exists(path):
        state, settings = "missing", None
    else:
        settings = parse_settings(text) if text is not None else None
        state = "ours" if settings is not None else "foreign"
    python = recorded_python(text) if state == "ours" and text is not None else None
    return HookState(name, path, state, settings, previous if _exists(previous) else None, python)


def _write_hook(path: Path, text: str) -> None:
    """Replace PATH with TEXT, executable, in one rename."""
    tmp = path.with_name(f".{path.name}.coder-tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise GitError(f"cannot write {path}: {exc.strerror}") from None


def _check(names: Sequence[str], settings: HookSettings, python: str) -> None:
    if not os.path.isabs(python):
        raise ConfigError(f"cannot tell which Python runs coder (got {python!r})", "run coder from its own interpreter")
    if settings.strict and "pre-commit" not in names:
        raise UsageError("--strict is a pre-commit setting", "add --pre-commit")
    if settings.conventional and "prepare-commit-msg" not in names:
        raise UsageError("--conventional is a prepare-commit-msg setting", "add --prepare-commit-msg")
    if not settings.timeout > 0:
        raise UsageError("--timeout must be more than 0 seconds")


def install(folder: Path, names: Sequence[str], settings: HookSettings, python: str) -> list[str]:
    """Install (or update) hooks NAMES in FOLDER; returns one line per hook saying what was done.

    FOLDER is created when missing. An existing hook that is not ours moves aside to
    NAME.coder-previous and is chained; refused (GitError) when that name is already taken.
    Settings that do not fit NAMES are a UsageError.
    """
    _check(names, settings, python)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GitError(f"cannot create the hooks folder {folder}: {exc.strerror}") from None
    done = []
    for name in names:
        state = hook_state(folder, name)
        text = render_script(name, settings, python)
        chained = ""
        if state.state == "foreign":
            previous = folder / f"{name}{PREVIOUS_SUFFIX}"
            if state.previous is not None:
                raise GitError(
                    f"{state.path} is another tool's hook and {previous.name} is already taken; nothing was changed",
                    f"move one of them away by hand, then run `coder hook install` again (folder: {folder})",
                )
            try:
                os.rename(state.path, previous)
            except OSError as exc:
                raise GitError(f"cannot move {state.path} aside: {exc.strerror}") from None
            try:
                _write_hook(state.path, text)
            except GitError:
                os.rename(previous, state.path)
                raise
            chained = f"; the existing hook moved to {previous.name} and runs first"
        elif state.state == "ours" and _read(state.path) == text:
            done.append(f"{name}: already installed ({settings.describe(name)})")
            continue
        else:
            _write_hook(state.path, text)
            if state.previous is not None:
                chained = f"; chains the previous hook {state.previous.name}"
        verb = "updated" if state.state == "ours" else "installed"
        done.append(f"{name}: {verb} ({settings.describe(name)}){chained}")
    return done


def uninstall(folder: Path, names: Sequence[str]) -> list[str]:
    """Remove our hooks NAMES from FOLDER and put the chained previous hooks back (bytes and mode).

    A hook that is not ours is left alone. Returns one line per hook.
    """
    done = []
    for name in names:
        state = hook_state(folder, name)
        if state.state == "foreign":
            done.append(f"{name}: not coder's hook; left alone")
            continue
        if state.state == "ours":
            try:
                state.path.unlink()
            except OSError as exc:
                raise GitError(f"cannot remove {state.path}: {exc.strerror}") from None
        if state.previous is not None:
            try:
                os.rename(state.previous, state.path)
            except OSError as exc:
                raise GitError(f"cannot restore {state.previous}: {exc.strerror}") from None
            done.append(f"{name}: removed; the previous hook is back" if state.state == "ours" else f"{name}: restored")
        else:
            done.append(f"{name}: removed" if state.state == "ours" else f"{name}: not installed")
    return done
