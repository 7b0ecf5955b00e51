"""`pip install` with a first run that explains itself.

Usage: PYTHON scripts/pip_install.py [pip install args...]   (run with the virtualenv's python)

pip is quiet for minutes while llama-cpp-python compiles llama.cpp from source. This runs
``PYTHON -m pip install -v ARGS`` with its output in a log file, and says what happens instead:
before the build, what is built and about how long it takes; during it, the compiler's progress
(cmake's ``[ 45%]``) on one updating line at a terminal, or a line every 10% (and every minute
of silence) in a log; after a failure, the one line that matters (no C/C++ compiler, no cmake,
no Python headers, no space, no network) with what to install, and where the full log is.

Exit status: pip's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

PACKAGE = "llama-cpp-python"
CORE_MINUTES = 14  # llama-cpp-python 0.3.36 on 2 cores of an Intel Xeon: 7 minutes of wall time
_PERCENT = re.compile(r"^\s*\[\s*(\d{1,3})%\]")  # make: [ 45%] Building CXX object ...
_STEPS = re.compile(r"^\s*\[(\d+)/(\d+)\]")  # ninja: [87/193] /usr/bin/g++ ...
_BUILDING = re.compile(r"Building wheel for llama[-_]cpp[-_]python", re.IGNORECASE)

# (pattern in the log, what is wrong, what to do): the first match explains a failure.
CAUSES: tuple[tuple[str, str, str], ...] = (
    (
        r"No CMAKE_CXX_COMPILER could be found|CMAKE_CXX_COMPILER not set|No CMAKE_C_COMPILER could be found"
        r"|CMAKE_C_COMPILER not set|C\+\+ compiler .* not found|is not a full path and was not found in the PATH",
        "no C/C++ compiler found: llama.cpp is compiled from source",
        "install one: Debian/Ubuntu `apt-get install build-essential`, Fedora `dnf install gcc-c++`, "
        "macOS `xcode-select --install`",
    ),
    (
        r"Python\.h: No such file or directory|Could NOT find Python.*Development",
        "the Python headers are missing",
        "install them: Debian/Ubuntu `apt-get install python3-dev`, Fedora `dnf install python3-devel`",
    ),
    (
        r"cmake: (command )?not found|CMake (3\.\d+ )?(or higher )?is required|Could not find cmake"
        r"|No such file or directory: 'cmake'",
        "cmake was not found",
        "install it: `pip install cmake`, Debian/Ubuntu `apt-get install cmake`, macOS `brew install cmake`",
    ),
    (
        r"No space left on device",
        "the disk is full",
        "free some space (the build needs about 1 GB in the temporary folder; set TMPDIR to use another disk)",
    ),
    (
        r"Killed signal terminated program|virtual memory exhausted|Cannot allocate memory|internal compiler error: Killed",
        "the compiler ran out of memory",
        "build with fewer jobs: CMAKE_BUILD_PARALLEL_LEVEL=1",
    ),
    (
        r"Failed to establish a new connection|Temporary failure in name resolution|Network is unreachable"
        r"|from versions: none\)",
        "pip could not reach the package index",
        "check the network or the proxy (pip's --index-url / PIP_INDEX_URL)",
    ),
    (
        r"Could not find a version that satisfies the requirement|No matching distribution found",
        "the package index has no version that fits the pins and this Python",
        "use Python 3.10 or newer, or regenerate constraints.txt with scripts/lock.sh",
    ),
)


def diagnose(log: str) -> tuple[str, str] | None:
    """(what is wrong, what to do) for the first known cause found in LOG, or None."""
    for pattern, what, fix in CAUSES:
        if re.search(pattern, log):
            return what, fix
    return None


def percent(line: str) -> int | None:
    """The build's progress in a line of cmake/make or ninja output, or None."""
    m = _PERCENT.match(line)
    if m:
        return min(100, int(m.group(1)))
    m = _STEPS.match(line)
    if m and int(m.group(2)) > 0:
        return min(100, 100 * int(m.group(1)) // int(m.group(2)))
    return None


def telling_line(log: str) -> str:
    """The line of a failed log that says most: the first compiler or CMake error, else pip's
    error, else the last line that is more than pip's box drawing."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    for pattern in (r"(^|\s)(fatal )?error:|CMake Error", r"^ERROR:|^error:"):
        found = [ln for ln in lines if re.search(pattern, ln) and "subprocess-exited-with-error" not in ln]
        if found:
            return found[0]
    plain = [ln for ln in lines if not re.match(r"^[╰│─>\s]+", ln) and not ln.startswith("note:")]
    return (plain or lines or [""])[-1]


def installed_version(name: str = PACKAGE) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def pinned_version(constraints: Path, name: str = PACKAGE) -> str | None:
    key = re.sub(r"[-_.]+", "-", name).lower()
    try:
        lines = constraints.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        left, sep, right = line.partition("==")
        if sep and re.sub(r"[-_.]+", "-", left.strip()).lower() == key:
            return right.strip()
    return None


def cores() -> int:
    try:
        n = int(os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "") or 0)
    except ValueError:
        n = 0
    return n or os.cpu_count() or 1


def estimate(n_cores: int) -> str:
    minutes = max(2, round(CORE_MINUTES / max(1, n_cores)))
    return f"about {minutes} minutes on {n_cores} core{'s' if n_cores != 1 else ''}"


def clock(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


class Reporter:
    """What the person sees while pip runs: one updating line at a terminal, sparse lines otherwise."""

    def __init__(self, stream, tty: bool) -> None:
        self.stream = stream
        self.tty = tty
        self.building = False
        self.started = time.monotonic()
        self.build_started = 0.0
        self.percent = -1
        self.last_line = time.monotonic()
        self._lock = threading.Lock()
        self._shown = ""

    def say(self, text: str) -> None:
        with self._lock:
            if self.tty and self._shown:
                self.stream.write("\r\033[K")
                self._shown = ""
            self.stream.write(text + "\n")
            self.stream.flush()
            self.last_line = time.monotonic()

    def _status(self, text: str) -> None:
        with self._lock:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
            self._shown = text

    def line(self, text: str) -> None:
        """One line of pip's output."""
        if not self.building and _BUILDING.search(text):
            self.building = True
            self.build_started = time.monotonic()
            self.say(f"building llama.cpp from source ({PACKAGE}), {estimate(cores())}…")
            return
        pct = percent(text)
        if self.building and pct is not None:
            if pct <= self.percent:
                return
            step = pct // 10 > max(self.percent, 0) // 10
            self.percent = pct
            if self.tty:
                self._status(self._building_text())
            elif step or pct == 100:
                self.say(f"  {self._building_text()}")

    def _building_text(self) -> str:
        pct = f"{self.percent}%" if self.percent >= 0 else "configuring"
        return f"building llama.cpp: {pct} · {clock(time.monotonic() - self.build_started)}"

    def tick(self) -> None:
        """Called every second: the spinner at a terminal, a line after a minute of silence otherwise."""
        now = time.monotonic()
        if self.tty:
            if self.building:
                self._status(self._building_text())
            else:
                self._status(f"installing… {clock(now - self.started)}")
        elif now - self.last_line >= 60:
            self.say(f"  still {'building llama.cpp' if self.building else 'installing'} ({clock(now - self.started)})")

    def done(self, ok: bool = True) -> None:
        with self._lock:
            if self.tty and self._shown:
                self.stream.write("\r\033[K")
                self.stream.flush()
                self._shown = ""
        if self.building and ok:
            self.say(f"built llama.cpp in {clock(time.monotonic() - self.build_started)}")


def run(
    pip_args: list[str], log_path: Path, stream=sys.stderr, python: str = sys.executable, constraints: Path | None = None
) -> int:
    tty = stream.isatty() and os.environ.get("TERM") != "dumb"
    rep = Reporter(stream, tty)
    pinned = pinned_version(constraints) if constraints else None
    have = installed_version()
    if have is None or (pinned and have != pinned):
        rep.say(
            f"installing coder and its dependencies; {PACKAGE} {pinned or ''} compiles llama.cpp from source "
            f"unless pip has it cached ({estimate(cores())}); log: {log_path}".replace("  ", " ")
        )
    else:
        rep.say(f"installing coder ({PACKAGE} {have} is already built); log: {log_path}")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [python, "-m", "pip", "install", "-v", *pip_args]
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(1.0):
            rep.tick()

    with open(log_path, "w", encoding="utf-8", errors="replace") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        thread = threading.Thread(target=ticker, daemon=True)
        thread.start()
        assert proc.stdout is not None
        try:
            for text in proc.stdout:
                log.write(text)
                rep.line(text)
            code = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            proc.wait()
            code = 130
        finally:
            stop.set()
            thread.join()
    rep.done(ok=code == 0)
    if code == 130 or code < 0:
        rep.say(f"install stopped ({'interrupted' if code == 130 else f'pip killed by signal {-code}'}); log: {log_path}")
        return 130 if code == 130 else 128 - code
    if code == 0 and not rep.building and (have is None or (pinned and have != pinned)):
        rep.say(f"{PACKAGE}: pip's cached build was used (nothing compiled)")
    if code != 0:
        found = diagnose(log_path.read_text(encoding="utf-8", errors="replace"))
        if found:
            what, fix = found
            rep.say(f"error: install failed: {what}; {fix} (full log: {log_path})")
        else:
            why = telling_line(log_path.read_text(errors="replace"))
            rep.say(f"error: install failed (pip exit {code}): {why} (full log: {log_path})")
    return code


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    venv = Path(sys.prefix)
    return run(argv, venv / "pip-install.log", constraints=root / "constraints.txt")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
