"""A native crash is one line, never a bare "Segmentation fault".

Commands that load a model run in a forked child; the parent (which imports nothing more) waits,
passes signals on, and when the child dies of SIGSEGV, SIGABRT, SIGBUS, SIGILL or SIGFPE prints
one line that says where it died and what to run, keeps faulthandler's report in
``$CODER_HOME/crash.log`` and exits 3 (a configuration or model problem: `coder doctor` finds a
setting that works). The child writes its faulthandler report into a pipe the parent reads, so
nothing is written to disk unless there is a crash.

Cost: one fork and a thread that reads an empty pipe (measured by benchmarks/speed.py's
first-token row). Signals: a terminal's Ctrl-C reaches both processes (the child handles it, the
parent ignores it); a signal sent to the parent's pid by another process (`kill`, `timeout`, a
hook's supervisor) is passed to the child; if the parent dies the child gets SIGTERM (Linux).
``CODER_CRASH_GUARD=0`` runs commands in one process.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

ENV = "CODER_CRASH_GUARD"
# The commands that load llama.cpp (or parse with tree-sitter); the others stay one process.
GUARDED = {"ask", "chat", "fix", "complete", "review", "commit-msg", "doctor", "serve", "map"}
CRASHES = frozenset({signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL, signal.SIGFPE})
_PASSED_ON = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
CRASH_EXIT = 3
STAGE = "coder-stage: "
_report_fd: int | None = None


def mark(stage: str) -> None:
    """Note in the crash report what the process is doing (loading the model, decoding). A crash in
    a thread without Python frames (llama.cpp's workers), or two threads crashing at once, leaves
    faulthandler's text short or empty; the last stage still says where it happened. One write
    to a pipe per call: call it at stages, not per token. A no-op outside the guard."""
    if _report_fd is not None:
        try:
            os.write(_report_fd, f"{STAGE}{stage}\n".encode())
        except OSError:
            pass


def signal_name(signum: int) -> str:
    """SIGSEGV for 11; "signal N" for a number this platform has no name for."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def command_of(args: list[str]) -> str | None:
    """The subcommand named in ARGS (the first word that is not an option), or None."""
    for arg in args:
        if not arg.startswith("-"):
            return arg
    return None


def wanted(args: list[str], environ) -> bool:
    if environ.get(ENV, "1").strip().lower() in {"0", "off", "false", "no"}:
        return False
    if not hasattr(os, "fork") or any(k.startswith("_CODER_COMPLETE") for k in environ):
        return False
    if "-h" in args or "--help" in args:
        return False
    return command_of(args) in GUARDED


def run_guarded(args: list[str], body: Callable[[], int], environ=None) -> int:
    """BODY() in a forked child when ARGS name a guarded command; its exit code either way. Returns
    in the child only (the caller exits with the code); the parent exits here."""
    environ = os.environ if environ is None else environ
    if not wanted(args, environ):
        return body()
    # An ignored SIGCHLD (inherited through exec) would reap the child unseen: wait forever.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    watched = set(_PASSED_ON) | {signal.SIGCHLD}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, watched)  # no signal is lost around the fork
    terminal = _terminal_state()
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        _child_setup(write_fd, parent)
        return body()
    os.close(write_fd)
    # The mask stays: a signal after the child's death must not kill this process before it reports.
    code = _wait(pid, read_fd, watched, args, terminal)
    try:
        sys.stderr.flush()
    finally:
        os._exit(code)


def report_to(fd: int) -> None:
    """Send faulthandler's report and the stage marks to FD."""
    import faulthandler

    global _report_fd
    _report_fd = fd
    faulthandler.enable(file=fd, all_threads=True)


def die_with_parent(parent: int) -> None:
    """SIGTERM to this process when PARENT dies (Linux; elsewhere nothing)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before prctl
        os.kill(os.getpid(), signal.SIGTERM)


def _child_setup(report_fd: int, parent: int) -> None:
    report_to(report_fd)
    die_with_parent(parent)


def _terminal_state():
    """The terminal's settings, when stdin is one: a crash mid-reply leaves echo off (the reply's
    live window turned it off) and the cursor hidden."""
    try:
        if not os.isatty(0):
            return None
        import termios

        return termios.tcgetattr(0)
    except (OSError, ImportError):
        return None


def _restore_terminal(state) -> None:
    if state is None:
        return
    try:
        import termios

        termios.tcsetattr(0, termios.TCSADRAIN, state)
    except (OSError, ImportError):
        pass
    if os.isatty(2):
        sys.stderr.write("\r\x1b[K\x1b[?25h")  # the live window's line cleared, the cursor shown


def _wait(pid: int, read_fd: int, watched: set, args: list[str], terminal) -> int:
    import threading

    report = bytearray()

    def drain() -> None:
        while chunk := os.read(read_fd, 65536):
            report.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    status = _wait_status(pid, watched)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    sig = os.WTERMSIG(status)
    if sig in CRASHES or sig == signal.SIGKILL:
        _restore_terminal(terminal)
    if sig in CRASHES:
        reader.join(timeout=2.0)  # EOF at the child's exit, unless a process it forked kept the pipe
        text = bytes(report).decode("utf-8", "replace")
        sys.stderr.write(crash_line(signal_name(sig), text, command_of(args), _save(report)) + "\n")
        return CRASH_EXIT
    if sig == signal.SIGKILL:
        sys.stderr.write("coder: killed (SIGKILL); if nobody killed it, the system may have run out of memory\n")
        return 128 + sig
    # Die of the same signal, so a caller sees what the child died of (SIGTERM stays a signal death).
    sys.stderr.flush()
    signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
    os.kill(os.getpid(), sig)
    return 128 + sig


def _wait_status(pid: int, watched: set) -> int:
    """Wait for the child, passing signals sent to this process by other processes on to it."""
    if not hasattr(signal, "sigwaitinfo"):  # macOS: no siginfo; handlers pass everything but SIGINT on

        def forward(signum, frame) -> None:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for sig in _PASSED_ON[1:]:
            signal.signal(sig, forward)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, watched)
        while True:
            try:
                done, status = os.waitpid(pid, 0)
            except ChildProcessError:
                return 0
            if done == pid:
                for sig in _PASSED_ON[1:]:
                    signal.signal(sig, signal.SIG_IGN)
                return status
    while True:
        info = signal.sigwaitinfo(watched)
        if info.si_signo != signal.SIGCHLD and info.si_code > 0:
            continue  # made by the kernel (a terminal's Ctrl-C, hang-up): the child's process group got it too
        if info.si_signo != signal.SIGCHLD:
            try:
                os.kill(pid, info.si_signo)
                continue
            except ProcessLookupError:
                pass  # already gone: collect it below
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: nothing to report
            return 0
        if done == pid:
            return status


def _save(report: bytearray) -> str | None:
    """Keep the faulthandler report in $CODER_HOME/crash.log (private); its path, or None."""
    if not report:
        return None
    try:
        from coder_cli.config import coder_home

        home = coder_home(os.environ)
        home.mkdir(parents=True, exist_ok=True)
        path = home / "crash.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(b"coder " + " ".join(_masked(sys.argv[1:])).encode("utf-8", "replace") + b"\n\n" + bytes(report))
        return str(path)
    except Exception:  # noqa: BLE001 - a report that cannot be kept must not hide the crash line
        return None


def _masked(args: list[str]) -> list[str]:
    """ARGS with the value of --api-key hidden."""
    out, hide = [], False
    for arg in args:
        if hide:
            out.append("****")
        elif arg.startswith("--api-key="):
            out.append("--api-key=****")
        else:
            out.append(arg)
        hide = arg == "--api-key"
    return out


def describe(signame: str, report: str) -> tuple[str, bool]:
    """("SIGILL at or after the first decode (in decode, llama_cpp/_internals.py:329)", in llama.cpp)
    from a crash REPORT: stage marks and faulthandler's text."""
    frames = crashing_frames(report)
    stages = [line[len(STAGE) :] for line in report.splitlines() if line.startswith(STAGE)]
    stage = stages[-1] if stages and stages[-1] != "model closed" else ""
    native = [p.replace("\\", "/") for p, _, _ in frames]
    if native and not any("/llama_cpp/" in p or "coder_cli/engine/" in p for p in native):
        stage = ""  # Python frames elsewhere (tree-sitter, ...): trust them over the last stage mark
    in_llama = bool(stage) or any("/llama_cpp/" in p for p in native)
    text = signame + (f" {stage}" if stage else "")
    if frames:
        path, line, func = frames[0]
        text += f" (in {func}, {short_path(path)}:{line})"
    return text, in_llama


def crash_line(signame: str, report: str, command: str | None, saved: str | None) -> str:
    """One line: what died, where, and what to run."""
    what, in_llama = describe(signame, report)
    running = f" running `coder {command}`" if command else ""
    details = f" (report: {saved})" if saved else ""
    if in_llama:
        hint = "run `coder doctor` to find a setting that works on this machine"
        return f"error: llama.cpp crashed with {what}{running}; {hint}{details}"
    return f"error: coder crashed in native code with {what}{running}; please report it{details}"


def crashing_frames(report: str) -> list[tuple[str, str, str]]:
    """(path, line, function) of the thread that crashed, innermost first, from faulthandler's text;
    when that thread has no Python frames (a llama.cpp worker), the first thread that has."""
    blocks: list[tuple[bool, list[tuple[str, str, str]]]] = []
    for line in report.splitlines():
        if line.startswith(("Current thread", "Thread 0x")):
            blocks.append((line.startswith("Current thread"), []))
            continue
        s = line.strip()
        if blocks and s.startswith('File "'):
            path, _, rest = s[len('File "') :].partition('", line ')
            number, _, func = rest.partition(" in ")
            blocks[-1][1].append((path, number.strip(), func.strip()))
    for current, frames in blocks:
        if current and frames:
            return frames
    return next((frames for _, frames in blocks if frames), [])


def short_path(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    return "/".join(parts[-2:])
