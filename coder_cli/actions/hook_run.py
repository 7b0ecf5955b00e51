"""`coder hook run NAME`: the supervisor a hook script calls (hidden).

It imports nothing heavy: the model runs in a child `coder commit-msg` / `coder review`
process, in its own process group, under a hard timeout (the whole group is killed).
The child inherits git's hook environment (GIT_INDEX_FILE matters for `git commit -a`).
Whatever goes wrong with coder, the commit goes on with ONE line on stderr:
``coder: prepare-commit-msg skipped: the model took over 20 s (timeout)``. The only
status that stops a commit is BLOCK_STATUS, from a strict pre-commit whose review's JSON
result holds an error finding (an exit status alone never blocks: a crash exits 1 too).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from coder_cli.core.hooks import BLOCK_STATUS, SKIP_SOURCES, HookSettings, comment_chars, has_message, with_message
from coder_cli.crash_guard import signal_name


@dataclass(frozen=True)
class Child:
    """What the child process did: its output, or why it gave none (PROBLEM)."""

    code: int | None
    stdout: str
    stderr: str
    problem: str | None = None
    timed_out: bool = False


@dataclass(frozen=True)
class HookContext:
    """Where a hook runs: the coder command to start children with, git's environment, cwd, stderr."""

    coder: Sequence[str]  # e.g. [sys.executable, "-m", "coder_cli"]
    environ: Mapping[str, str]
    cwd: Path
    stderr: IO[str]

    def note(self, text: str) -> None:
        self.stderr.write(f"coder: {text}\n")
        self.stderr.flush()


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_child(cmd: Sequence[str], timeout: float, environ: Mapping[str, str], cwd: Path, label: str) -> Child:
    """Run CMD in its own process group with no stdin; kill the whole group after TIMEOUT seconds.

    LABEL names the command in the problem notes ("`coder review`").
    """
    try:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return Child(None, "", "", f"cannot start {label} ({cmd[0]}): {exc.strerror}")
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        try:
            proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:  # a grandchild in another session still holds the pipes
            pass
        return Child(None, "", "", f"the model took over {timeout:g} s (timeout)", timed_out=True)
    finally:
        if proc.poll() is None:  # Ctrl-C or another exception while waiting
            _kill_group(proc)
            proc.wait()
    text_out = out.decode("utf-8", errors="replace")
    text_err = err.decode("utf-8", errors="replace")
    if proc.returncode < 0:
        return Child(proc.returncode, text_out, text_err, f"{label} crashed ({signal_name(-proc.returncode)})")
    return Child(proc.returncode, text_out, text_err)


def _failure(child: Child, label: str) -> str:
    """Why a child that exited non-zero failed: its error line, and the status."""
    lines = [line.strip() for line in child.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    if errors:
        why = errors[0][len("error:") :].strip()
    else:
        why = lines[-1] if lines else "no message"
    return f"{label} failed: {why} (exit {child.code})"


def _git(ctx: HookContext, *args: str) -> str | None:
    """`git ARGS`'s output in the hook's repository; None when git fails or cannot run."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=ctx.cwd,
            env=dict(ctx.environ),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _comment_setting(ctx: HookContext) -> str | None:
    return (_git(ctx, "config", "--get", "core.commentChar") or "").strip() or None


def _concluding(ctx: HookContext) -> bool:
    """Whether this commit concludes a merge, cherry-pick or revert (their changes were reviewed where they were made)."""
    out = _git(ctx, "rev-parse", "--git-path", "MERGE_HEAD", "--git-path", "CHERRY_PICK_HEAD", "--git-path", "REVERT_HEAD")
    return out is not None and any(Path(ctx.cwd, p).exists() for p in out.splitlines() if p)


def _child_environ(ctx: HookContext) -> dict[str, str]:
    """git's hook environment without CODER_DEBUG (a traceback exits 1, which says nothing about the review)."""
    return {k: v for k, v in ctx.environ.items() if k != "CODER_DEBUG"}


def prepare_commit_msg(args: Sequence[str], settings: HookSettings, ctx: HookContext) -> int:
    """Write a generated message at the top of git's message file; always 0.

    Untouched: merges, squashes, amends, -c/-C, -m/-F (SOURCE), and a file that
    already holds a message (a template, another hook's text).
    """
    from coder_cli.errors import CoderError
    from coder_cli.fs.atomic_write import atomic_write

    name = "prepare-commit-msg"
    if not args:
        ctx.note(f"{name} skipped: git passed no message file")
        return 0
    if len(args) > 1 and args[1] in SKIP_SOURCES:
        return 0
    path = Path(ctx.cwd, args[0])
    try:
        raw = path.read_bytes()
        existing = raw.decode("utf-8")
    except OSError as exc:
        ctx.note(f"{name} skipped: cannot read {path}: {exc.strerror}")
        return 0
    except UnicodeDecodeError:
        ctx.note(f"{name} skipped: {path} is not UTF-8")
        return 0
    if has_message(existing, comment_chars(_comment_setting(ctx))):
        return 0
    cmd = [*ctx.coder, "commit-msg", "--staged", *(["--conventional"] if settings.conventional else [])]
    label = "`coder commit-msg`"
    child = run_child(cmd, settings.timeout, _child_environ(ctx), ctx.cwd, label)
    if child.problem is None and child.code != 0:
        child = Child(child.code, child.stdout, child.stderr, _failure(child, label))
    if child.problem is None and not child.stdout.strip():
        child = Child(child.code, child.stdout, child.stderr, f"{label} printed no message")
    if child.problem is not None:
        ctx.note(f"{name} skipped: {child.problem}")
        return 0
    try:
        atomic_write(path, with_message(child.stdout, existing).encode("utf-8"), raw)
    except (CoderError, OSError) as exc:
        ctx.note(f"{name} skipped: {getattr(exc, 'message', None) or exc}")
    return 0


def pre_commit(settings: HookSettings, ctx: HookContext) -> int:
    """Run the staged review and show its findings; BLOCK_STATUS only when strict and its JSON result holds an error.

    Untouched (no review): the commit that concludes a merge, a cherry-pick or a revert.
    """
    name = "pre-commit"
    if _concluding(ctx):
        return 0
    label = "`coder review`"
    child = run_child([*ctx.coder, "review", "--staged", "--json"], settings.timeout, _child_environ(ctx), ctx.cwd, label)
    if child.problem is None and child.code != 0:
        child = Child(child.code, child.stdout, child.stderr, _failure(child, label))
    findings = _findings(child.stdout) if child.problem is None else None
    if child.problem is None and findings is None:
        child = Child(child.code, child.stdout, child.stderr, f"{label} printed no JSON result")
    if child.problem is not None or findings is None:
        ctx.note(f"{name} skipped: {child.problem}")
        return 0
    lines = [f"{f['path']}:{f['line']}: {f['severity']}: {f['message']}" for f in findings]
    for line in [*lines, *child.stderr.splitlines()]:
        if line.strip():
            ctx.stderr.write(f"coder review: {line}\n")
    if settings.strict and any(f["severity"] == "error" for f in findings):
        ctx.note(f"{name} blocked the commit: the review found an error (fix it, or skip hooks with `git commit --no-verify`)")
        return BLOCK_STATUS
    ctx.stderr.flush()
    return 0


def _findings(stdout: str) -> list[dict] | None:
    """The findings of `coder review --json`'s output; None when it is not that."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    findings = data.get("findings") if isinstance(data, dict) else None
    if not isinstance(findings, list):
        return None
    keys = {"path": str, "line": int, "severity": str, "message": str}
    if not all(isinstance(f, dict) and all(isinstance(f.get(k), t) for k, t in keys.items()) for f in findings):
        return None
    return findings


def post_index_change(settings: HookSettings, ctx: HookContext) -> int:
    """After `git add` (any index write): when a `coder serve` answers, start `coder commit-msg --prewarm`
    in the background, detached, and return at once; without a server, do nothing (no model is
    loaded for this). The server reads the prompt the commit will send, giving way to any other
    request; the message at commit time then reads only what is new. Always 0, silent."""
    from coder_cli import config
    from coder_cli.engine.server_record import find_server

    if find_server(config.coder_home(ctx.environ), ctx.environ, timeout=0.5) is None:
        return 0
    cmd = [*ctx.coder, "commit-msg", "--staged", "--prewarm"]
    if settings.conventional:
        cmd.append("--conventional")
    try:
        subprocess.Popen(
            cmd,
            cwd=ctx.cwd,
            env=_child_environ(ctx),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not git's to wait for, nor its terminal's Ctrl-C
        )
    except OSError:
        pass
    return 0


def run_hook(name: str, args: Sequence[str], settings: HookSettings, ctx: HookContext) -> int:
    """Run hook NAME; returns 0 (git goes on) or BLOCK_STATUS."""
    if name == "prepare-commit-msg":
        return prepare_commit_msg(args, settings, ctx)
    if name == "pre-commit":
        return pre_commit(settings, ctx)
    if name == "post-index-change":
        return post_index_change(settings, ctx)
    ctx.note(f"{name} skipped: not a hook coder knows")
    return 0
