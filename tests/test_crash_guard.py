"""A native crash is one line with what to run, never a bare "Segmentation fault"; signals reach the
command through the guard; a child that really dies is made with the test-only fault option."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from coder_cli import crash_guard
from coder_cli.engine.faults import Fault
from tests.conftest import clean_environ, run_cli

_CRASH = """
import faulthandler, ctypes
faulthandler.enable()
def decode():
    ctypes.string_at(0)
decode()
"""


def test_the_report_names_the_crashing_frame_of_a_real_faulthandler_report():
    r = subprocess.run([sys.executable, "-c", _CRASH], capture_output=True, text=True)
    assert r.returncode == -signal.SIGSEGV
    frames = crash_guard.crashing_frames(r.stderr)
    assert frames[0][2] == "string_at" and frames[1][2] == "decode"
    text, in_llama = crash_guard.describe("SIGSEGV", r.stderr)
    assert text.startswith("SIGSEGV (in string_at, ctypes/") and in_llama is False


def test_stage_marks_say_where_when_faulthandler_has_no_frames():
    # Two llama.cpp worker threads dying at once leave faulthandler's text cut short.
    report = "coder-stage: while llama.cpp loaded m\ncoder-stage: at or after the first decode\nFatal Python error: "
    text, in_llama = crash_guard.describe("SIGILL", report)
    assert text == "SIGILL at or after the first decode" and in_llama
    line = crash_guard.crash_line("SIGILL", report, "ask", "/h/crash.log")
    assert line == (
        "error: llama.cpp crashed with SIGILL at or after the first decode running `coder ask`; "
        "run `coder doctor` to find a setting that works on this machine (report: /h/crash.log)"
    )
    assert "\n" not in line
    closed = report + "\ncoder-stage: model closed\n"
    assert crash_guard.describe("SIGSEGV", closed) == ("SIGSEGV", False)


def test_only_commands_that_load_native_code_are_forked():
    assert crash_guard.wanted(["ask", "hi"], {})
    assert crash_guard.wanted(["--debug", "fix", "a.py"], {})
    assert not crash_guard.wanted(["--help"], {})
    assert not crash_guard.wanted(["ask", "--help"], {})
    assert not crash_guard.wanted(["models", "list"], {})
    assert not crash_guard.wanted(["config", "show"], {})
    assert not crash_guard.wanted([], {})
    assert not crash_guard.wanted(["ask", "hi"], {"CODER_CRASH_GUARD": "0"})
    assert not crash_guard.wanted(["ask"], {"_CODER_COMPLETE": "complete_bash"})


_GUARDED = """
import os, signal, sys, time
from coder_cli.crash_guard import run_guarded
what = sys.argv[1]
def body():
    if what == "abort":
        os.abort()
    if what == "exit":
        return 7
    try:
        print("ready", flush=True)
        time.sleep(300)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr, flush=True)
        return 130
    return 0
sys.exit(run_guarded(["ask"], body, {}))
"""


def _guarded(what: str, ignore_sigchld: bool = False, **kw) -> subprocess.Popen:
    code = _GUARDED
    if ignore_sigchld:  # as a parent that ignores SIGCHLD leaves it to what it execs
        code = "import signal; signal.signal(signal.SIGCHLD, signal.SIG_IGN)\n" + code
    return subprocess.Popen([sys.executable, "-c", code, what], text=True, **kw)


def test_the_guard_passes_the_exit_code_and_reports_a_crash_without_a_model():
    p = _guarded("exit", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.wait(timeout=30) == 7
    p = _guarded("abort", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 3
    assert err.startswith("error: coder crashed in native code with SIGABRT (in body, ")


def test_an_inherited_ignored_sigchld_does_not_hang_the_guard():
    p = _guarded("exit", ignore_sigchld=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.wait(timeout=30) == 7


def test_a_terminals_ctrl_c_reaches_the_command_once():
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: the guarded command on a terminal of its own
        os.execv(sys.executable, [sys.executable, "-c", _GUARDED, "sleep"])
    # Each wait has its own deadline, and the command sleeps longer than both: on a loaded machine
    # a shared one ran out before the Ctrl-C was read, and the sleep's end passed for exit 0.
    out = b""
    deadline = time.monotonic() + 60
    while b"ready" not in out and time.monotonic() < deadline:
        out += os.read(fd, 1024)
    assert b"ready" in out, out
    os.write(fd, b"\x03")  # Ctrl-C: SIGINT from the terminal to the whole foreground group
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    done, status = os.waitpid(pid, os.WNOHANG)
    while not done and time.monotonic() < deadline + 30:
        time.sleep(0.1)
        done, status = os.waitpid(pid, os.WNOHANG)
    if not done:  # the Ctrl-C never reached it
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise AssertionError(f"still running 30 s after Ctrl-C: {out!r}")
    assert os.WIFEXITED(status), f"died of {signal.Signals(os.WTERMSIG(status)).name}: {out!r}"
    assert os.WEXITSTATUS(status) == 130, out
    assert out.count(b"interrupted") == 1, out


def test_fault_specs():
    assert Fault.parse(None) is None
    f = Fault.parse("segv@extra_bufts")
    assert f == Fault("segv", "extra_bufts")
    assert f.applies(extra_bufts=True, flash_attn=True, gpu_layers=0, threads=2)
    assert not f.applies(extra_bufts=False, flash_attn=True, gpu_layers=0, threads=2)
    assert Fault.parse("hang@threads").applies(extra_bufts=False, flash_attn=False, gpu_layers=0, threads=2)
    with pytest.raises(ValueError):
        Fault.parse("explode")


@pytest.mark.model
@pytest.mark.parametrize("kind, sig", [("segv", "SIGSEGV"), ("abort", "SIGABRT")])
def test_a_crash_in_the_engine_is_one_line_and_exit_3(model_home, kind, sig):
    (model_home / "crash.log").unlink(missing_ok=True)
    r = run_cli(["ask", "hi"], model_home, CODER_TEST_FAULT=kind)
    assert r.code == 3, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(f"error: llama.cpp crashed with {sig} at or after the first decode")
    assert "running `coder ask`" in lines[0] and "run `coder doctor`" in lines[0]
    assert "Fatal Python error" not in r.stderr and "Segmentation fault" not in r.stderr
    log = model_home / "crash.log"
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    assert "Fatal Python error" in log.read_text()
    assert r.stdout == ""


@pytest.mark.model
def test_without_the_guard_the_same_fault_is_a_bare_signal_death(model_home):
    # Proves the fault is a real native death and the guard is what turns it into a line.
    r = run_cli(["ask", "hi"], model_home, CODER_TEST_FAULT="segv", CODER_CRASH_GUARD="0")
    assert r.code == -signal.SIGSEGV
    assert "llama.cpp crashed" not in r.stderr


def _start_hanging(model_home, *args: str) -> tuple[subprocess.Popen, psutil.Process]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "coder_cli", "ask", "hi", *args],
        env=clean_environ(model_home, CODER_TEST_FAULT="hang"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = psutil.Process(proc.pid).children()
        if children:
            child = children[0]
            # Past the model load: its maps hold the model file.
            try:
                if any(m.path.endswith(".gguf") for m in child.memory_maps()):
                    time.sleep(1.0)
                    return proc, child
            except psutil.Error:
                pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the command never reached its hang")


@pytest.mark.model
def test_a_signal_sent_to_the_command_reaches_the_child(model_home):
    proc, child = _start_hanging(model_home)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM, err  # the command dies of the signal its child died of
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE

    proc, child = _start_hanging(model_home)
    os.kill(proc.pid, signal.SIGINT)  # a kill(2), not a terminal: passed on; the command says interrupted
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err, err


@pytest.mark.model
def test_the_child_does_not_outlive_a_killed_parent(model_home):
    proc, child = _start_hanging(model_home)
    proc.kill()
    proc.wait(timeout=10)
    child.wait(timeout=20)  # SIGTERM from the kernel when its parent died
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
