"""A warm pytest for `coder fix`: the same check at a tenth of the cost per candidate.

A repair checks up to dozens of candidates, and with a pytest check most of each run is start-up:
the interpreter, pytest, and every plugin the environment installs (with hypothesis installed,
1.2 of the 1.7 s a one-test run takes here). Where the check is a plain pytest command
(``python -m pytest ARGS`` or ``pytest ARGS``, nothing for the shell to do), a server started once
in the check's own interpreter imports pytest and its plugins and forks a fresh child for every
candidate; the child runs ``pytest.main(ARGS)`` in the scratch copy, nothing of the code under test
having been imported before the fork.

It stands in for the command only where it agrees with it, and never decides a fix alone:

- the caller runs the real command first; the warm one must give the same exit status and the same
  failure on the unchanged file (``agrees``), or it is not used;
- a candidate the warm check passes is run through the real command before it counts
  (``fix._Search``): a pass that the real check does not confirm turns the warm check off.

So a difference between the two can cost a repair, never report a wrong one.
"""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from coder_cli.actions.checks import CheckResult, check_env

_PYTHON = re.compile(r"^python(\d+(\.\d+)?)?$")
_SHELL = re.compile(r"[|&;<>()$`*?\[\]{}~!\\\n]")  # anything the shell would act on
START_TIMEOUT = 30.0  # seconds the server may take to import pytest and its plugins

# The server, run as `python -c`: one JSON request per line on stdin, replies on stdout.
_SERVER = r"""
import json, os, select, signal, sys
import pytest
from importlib import metadata
try:
    eps = metadata.entry_points(group="pytest11")
except TypeError:  # Python < 3.10
    eps = metadata.entry_points().get("pytest11", [])
for ep in eps:
    try:
        ep.load()
    except Exception:
        pass
import _pytest.assertion.rewrite, tempfile
out = sys.stdout
# One session on a test of its own, its output thrown away: what pytest and the plugins import
# lazily (hypothesis imports itself at the end of a session) is imported once, here.
saved = os.dup(1), os.dup(2)
null = os.open(os.devnull, os.O_WRONLY)
os.dup2(null, 1); os.dup2(null, 2)
try:
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "test_warm.py"), "w") as fh:
            fh.write("def test_warm():\n    assert 1\n")
        pytest.main(["-q", "-p", "no:cacheprovider", tmp])
except BaseException:
    pass
finally:
    os.dup2(saved[0], 1); os.dup2(saved[1], 2)
# Modules imported here cannot have their asserts rewritten in the children; pytest would warn of
# that on every run. They are pytest's plugins, not the code under test.
try:
    _pytest.assertion.rewrite.AssertionRewritingHook._warn_already_imported = lambda self, name: None
except AttributeError:
    pass
out.write("ready\n"); out.flush()
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.setsid()
            fd = os.open(req["output"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0); os.dup2(fd, 1); os.dup2(fd, 2)
            os.chdir(req["cwd"])
            sys.path[0] = req["path0"]
            sys.argv = [req["argv0"], *req["args"]]
            code = int(pytest.main(req["args"]))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        finally:
            try:
                sys.stdout.flush(); sys.stderr.flush()
            finally:
                os._exit(code)
    out.write(json.dumps({"pid": pid}) + "\n"); out.flush()
    # While the child runs, coder sends nothing: stdin readable then means coder is gone (killed
    # with no time to clean up); the child must not outlive it (an endless loop would spin on).
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if select.select([sys.stdin], [], [], 0.02)[0] and not sys.stdin.readline():
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            sys.exit(0)
    rc = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
    out.write(json.dumps({"rc": rc}) + "\n"); out.flush()
"""


def pytest_command(command: str, env: dict[str, str] | None = None) -> tuple[str, list[str], bool, str] | None:
    """(interpreter, pytest's arguments, whether it is the `-m` form, argv[0]) for a plain pytest
    command, or None for anything else (a pipe, a variable, a glob, other options to the interpreter,
    a program that is not pytest)."""
    if _SHELL.search(command) or not hasattr(os, "fork"):
        return None
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words or "=" in words[0]:
        return None
    path = (env or os.environ).get("PATH")
    first = shutil.which(words[0], path=path)
    if first is None:
        return None
    name = Path(words[0]).name
    if _PYTHON.match(name):
        if words[1:3] != ["-m", "pytest"]:
            return None
        return first, words[3:], True, "pytest"
    if name in ("pytest", "py.test"):
        interpreter = _shebang(Path(first), path)
        if interpreter is None:
            return None
        return interpreter, words[1:], False, first
    return None


def _shebang(script: Path, path: str | None) -> str | None:
    """The Python interpreter a console script starts with, or None (not a plain `#!` to Python)."""
    try:
        with script.open("rb") as fh:
            first = fh.readline(512).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if len(words) == 2 and Path(words[0]).name == "env":
        words = [shutil.which(words[1], path=path) or ""]
    if len(words) != 1 or not _PYTHON.match(Path(words[0]).name) or not os.access(words[0], os.X_OK):
        return None
    return words[0]


class WarmPytest:
    """One server for one repair; `run` is `Check.run` for the scratch copy at ROOT."""

    @classmethod
    def start(cls, command: str | None, root: Path, timeout: float, idle: Path | None = None) -> WarmPytest | None:
        """The server for COMMAND, or None when it is not a plain pytest command (run it as it is)."""
        parsed = pytest_command(command, check_env()) if command else None
        return cls(command or "", root, timeout, parsed, idle) if parsed else None

    def __init__(self, command: str, root: Path, timeout: float, parsed=None, idle: Path | None = None) -> None:
        """ROOT is where each run's command runs; the server waits in IDLE (default: ROOT's parent),
        a folder outside the project: nothing of it may be imported before the fork."""
        env = check_env()
        parsed = parsed or pytest_command(command, env)
        if parsed is None:
            raise ValueError(f"not a plain pytest command: {command}")
        self.interpreter, self.args, self.module, self.argv0 = parsed
        self.root, self.timeout = root, timeout
        self._out = tempfile.NamedTemporaryFile(prefix="coder-check-", suffix=".txt", delete=False)
        self._out.close()
        self.proc: subprocess.Popen | None = subprocess.Popen(
            [self.interpreter, "-c", _SERVER],
            cwd=idle or root.parent,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        self._ready = False
        self._child: int | None = None  # the test run going on, if any

    def _readline(self, deadline: float) -> str | None:
        proc = self.proc
        if proc is None or proc.stdout is None:
            return None  # closed (from another thread: Ctrl-C)
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            return None
        return proc.stdout.readline() or None

    def alive(self) -> bool:
        """Whether the server started (waiting for it the first time) and still runs."""
        if self.proc is None:
            return False
        if not self._ready:
            self._ready = self._readline(time.monotonic() + START_TIMEOUT) == "ready\n"
            if not self._ready:
                self.close()
                return False
        return self.proc.poll() is None

    def run(self) -> CheckResult | None:
        """The check on the scratch copy as it is now; None when the server failed (use the command)."""
        t0 = time.perf_counter()
        if not self.alive():
            return None
        assert self.proc is not None and self.proc.stdin is not None
        path0 = str(self.root) if self.module else str(Path(self.argv0).parent)
        request = {"cwd": str(self.root), "args": self.args, "argv0": self.argv0, "path0": path0, "output": self._out.name}
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            started = self._readline(time.monotonic() + 10)
            pid = json.loads(started)["pid"] if started else None
            if pid is None:
                self.close()
                return None
            self._child = pid
            done = self._readline(time.monotonic() + self.timeout)
            timed_out = done is None
            if timed_out:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                done = self._readline(time.monotonic() + 10)
                if done is None:
                    self.close()
                    return None
            rc = json.loads(done)["rc"]
            self._child = None
        except (OSError, ValueError, KeyError, TypeError):
            self.close()
            return None
        output = Path(self._out.name).read_text(errors="replace").strip("\n")
        if timed_out:
            output += f"\n[the check timed out after {self.timeout:g} s: an endless loop, or too slow]"
            return CheckResult(False, output, time.perf_counter() - t0, True)
        return CheckResult(rc == 0, output, time.perf_counter() - t0, returncode=rc)

    def close(self) -> None:
        """Stop the server and a test run still going (Ctrl-C during a check): nothing outlives it."""
        child, self._child = self._child, None
        if child is not None:
            try:
                os.killpg(child, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                try:
                    if stream:
                        stream.close()
                except OSError:
                    pass
        try:
            os.unlink(self._out.name)
        except OSError:
            pass

    def __enter__(self) -> WarmPytest:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def agrees(warm: CheckResult, real: CheckResult) -> bool:
    """Whether the warm check reports what the real one did on the same file: the same exit status
    and the same first failure."""
    from coder_cli.core import failure as failures

    if warm.timed_out or real.timed_out or warm.returncode != real.returncode:
        return False
    return failures.parse(warm.output).summary == failures.parse(real.output).summary
