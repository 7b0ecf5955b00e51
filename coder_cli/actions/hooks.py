"""`coder hook install|uninstall|status`: coder's git hooks in the repository's hooks folder.

An existing hook is never overwritten: it moves aside to NAME.coder-previous (bytes and
mode kept by the rename) and our hook runs it first; uninstall renames it back. A hook that
finds its work by its own name (husky and other hook managers) would stop running under the
new name: install refuses it, without --force, and says what line to add to the manager's hook.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coder_cli.core.hooks import (
    PREVIOUS_SUFFIX,
    HookSettings,
    manager_lines,
    own_name_use,
    parse_settings,
    recorded_python,
    render_script,
)
from coder_cli.errors import ConfigError, GitError, UsageError

_MODE = 0o755


@dataclass(frozen=True)
class HooksFolder:
    path: Path
    hooks_path_config: str | None  # core.hooksPath when it is set (it chose the folder)
    git_dir: Path | None = None  # the repository's common git folder (worktrees share it)
    top: Path | None = None  # the work tree's top folder, when core.hooksPath is set (None: bare)

    def shared_warning(self) -> str | None:
        """Why installing into a core.hooksPath folder outside the repository's git folder needs care (None: it does not)."""
        if self.hooks_path_config is None or self.git_dir is None or self.path.is_relative_to(self.git_dir):
            return None
        where = f"core.hooksPath = {self.hooks_path_config} ({self.path})"
        if self.top is not None and self.path.is_relative_to(self.top):
            return f"{where} is in the work tree: if it is tracked, coder's hooks and a hook moved aside show in `git status`"
        return f"{where} is outside this repository: coder's hooks there run in every repository that uses the folder"


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
    proc = _git(["rev-parse", "--git-path", "hooks", "--git-common-dir"], cwd, environ)
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"git exited {proc.returncode}"
        raise GitError(f"not in a git repository: {cwd}", detail)
    hooks, git_dir = (cwd / line for line in proc.stdout.splitlines()[:2])
    config = _git(["config", "--get", "core.hooksPath"], cwd, environ)
    configured = config.stdout.strip() if config.returncode == 0 and config.stdout.strip() else None
    top = None
    if configured:
        shown = _git(["rev-parse", "--show-toplevel"], cwd, environ)
        top = Path(shown.stdout.strip()).resolve() if shown.returncode == 0 and shown.stdout.strip() else None
    return HooksFolder(hooks.resolve(), configured, git_dir.resolve(), top)


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
    if settings.conventional and not {"prepare-commit-msg", "post-index-change"} & set(names):
        raise UsageError("--conventional is a prepare-commit-msg setting", "add --prepare-commit-msg")
    if not settings.timeout > 0:
        raise UsageError("--timeout must be more than 0 seconds")


def install(
    folder: Path,
    names: Sequence[str],
    settings: HookSettings,
    python: str,
    force: bool = False,
    server_record: str | None = None,
) -> list[str]:
    """Install (or update) hooks NAMES in FOLDER; returns one line per hook saying what was done.

    SERVER_RECORD: where `coder serve` leaves its record when CODER_HOME is unset (post-index-change
    checks it in sh, so a repository without a server never starts Python at `git add`).
    FOLDER is created when missing. An existing hook that is not ours moves aside to
    NAME.coder-previous and is chained. Every hook is checked before anything is written, so a
    refusal changes nothing: GitError when NAME.coder-previous is already taken, or (unless FORCE)
    when the existing hook finds its work by its own name. Settings that do not fit NAMES are a UsageError.
    """
    _check(names, settings, python)
    states = [hook_state(folder, name) for name in names]
    for state in states:
        _check_chain(state, settings, python, force, server_record)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GitError(f"cannot create the hooks folder {folder}: {exc.strerror}") from None
    return [_install_one(state, settings, python, server_record) for state in states]


def _check_chain(state: HookState, settings: HookSettings, python: str, force: bool, server_record: str | None) -> None:
    """Refuse (GitError) to move STATE's hook aside when that cannot be done, or would turn it off."""
    if state.state != "foreign":
        return
    previous = state.path.with_name(f"{state.name}{PREVIOUS_SUFFIX}")
    if state.previous is not None:
        raise GitError(
            f"{state.path} is another tool's hook and {previous.name} is already taken; nothing was changed",
            f"move one of them away by hand, then run `coder hook install` again (folder: {state.path.parent})",
        )
    why = own_name_use(_read(state.path) or "")
    if why and not force:
        raise GitError(
            f"{state.path} looks like a hook manager's hook ({why}): renamed to {previous.name} "
            "it would silently stop running; nothing was changed",
            f"add {'these lines' if state.name == 'post-index-change' else 'this line'} to the {state.name} hook "
            f"your manager runs (husky: .husky/{state.name}):\n"
            + textwrap.indent(manager_lines(state.name, settings, python, server_record), "    ")
            + "\n"
            "or chain it anyway with `coder hook install --force`",
        )


def _install_one(state: HookState, settings: HookSettings, python: str, server_record: str | None) -> str:
    name = state.name
    text = render_script(name, settings, python, server_record)
    chained = ""
    if state.state == "foreign":
        previous = state.path.with_name(f"{name}{PREVIOUS_SUFFIX}")
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
        return f"{name}: already installed ({settings.describe(name)})"
    else:
        _write_hook(state.path, text)
        if state.previous is not None:
            chained = f"; chains the previous hook {state.previous.name}"
    verb = "updated" if state.state == "ours" else "installed"
    return f"{name}: {verb} ({settings.describe(name)}){chained}"


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
