"""`coder doctor`'s self-check: load the model and decode in a child process; when the child
crashes, hangs or fails, try safer settings one at a time and say which one works.

The ladder, after the settings as configured: extra buffer types off (the AMX repack crash),
flash attention off, no GPU layers, one thread, then all of these together. A step that would
change nothing (flash attention already off, a build without GPU offload, ...) is skipped.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coder_cli.crash_guard import describe, signal_name

# (key, safer value, what it means)
SAFER: tuple[tuple[str, object, str], ...] = (
    ("extra_bufts", False, "extra buffer types off"),
    ("flash_attn", False, "flash attention off"),
    ("gpu_layers", 0, "no GPU layers"),
    ("threads", 1, "one thread"),
)


@dataclass
class Attempt:
    label: str
    changes: dict  # config key -> value, relative to the configured settings
    outcome: str  # "ok", "crashed", "killed" (SIGKILL), "hung", "failed"
    detail: str = ""  # signal name and frame, the error, or the timing
    seconds: float = 0.0
    result: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "changes": self.changes,
            "outcome": self.outcome,
            "detail": self.detail,
            "seconds": round(self.seconds, 2),
        }


@dataclass
class ProbeReport:
    attempts: list[Attempt]

    @property
    def working(self) -> Attempt | None:
        """The attempt to keep: the settings as configured when a retry of them worked."""
        ok = [a for a in self.attempts if a.ok]
        return next((a for a in ok if not a.changes), ok[0] if ok else None)

    @property
    def defaults_work(self) -> bool:
        return bool(self.attempts) and self.attempts[0].ok

    def as_dict(self) -> dict:
        w = self.working
        return {
            "attempts": [a.as_dict() for a in self.attempts],
            "defaults_work": self.defaults_work,
            "working_changes": None if w is None else w.changes,
        }


def steps(resolved: dict) -> list[tuple[str, dict]]:
    """The ladder for RESOLVED (what the configured settings amount to on this build:
    extra_bufts bool, flash_attn bool, gpu_layers int, threads int)."""
    ladder: list[tuple[str, dict]] = [("as configured", {})]
    changes: dict = {}
    for key, safer, label in SAFER:
        if resolved[key] == safer:
            continue
        ladder.append((label, {key: safer}))
        changes[key] = safer
    if len(changes) > 1:
        ladder.append(("all of these", dict(changes)))
    return ladder


def run_ladder(resolved: dict, attempt: Callable[[str, dict], Attempt], progress=None) -> ProbeReport:
    """Try each step until one works; PROGRESS(i, n, label, None) before each, PROGRESS(i, n, label,
    attempt) after. A step that works after one that hung is checked against the settings as
    configured once more: a cold disk makes a first load slow, and no setting should be blamed
    for that. A child killed by SIGKILL (the kernel's out-of-memory killer, most likely) ends the
    ladder: no setting here changes how much memory a model needs."""
    ladder = steps(resolved)
    attempts: list[Attempt] = []
    for i, (label, changes) in enumerate(ladder, 1):
        if progress:
            progress(i, len(ladder), label, None)
        a = attempt(label, changes)
        attempts.append(a)
        if progress:
            progress(i, len(ladder), label, a)
        if a.outcome == "killed":
            break
        if a.ok:
            if changes and any(p.outcome == "hung" for p in attempts):
                again = attempt("as configured, again", {})
                attempts.append(again)
                if progress:
                    progress(i, len(ladder), again.label, again)
            break
    return ProbeReport(attempts)


def child_attempt(load: dict, timeout: float, environ=None) -> Callable[[str, dict], Attempt]:
    """An attempt that runs engine/probe.py in a child with LOAD (path and settings) plus the
    step's changes: hook_run.run_child, in its own process group, killed whole after TIMEOUT
    seconds or when doctor itself is interrupted."""
    from coder_cli.actions.hook_run import run_child

    def attempt(label: str, changes: dict) -> Attempt:
        settings = {**load, **changes}
        # Not `-m`: that puts the working directory first on sys.path, and a json.py or a coder_cli/
        # folder in the user's project would run in place of ours.
        cmd = [sys.executable, "-c", _CHILD, json.dumps(settings)]
        beside_model = Path(os.path.abspath(settings["path"])).parent
        t0 = time.perf_counter()
        child = run_child(cmd, timeout, os.environ if environ is None else environ, beside_model, "the probe")
        seconds = time.perf_counter() - t0
        if child.timed_out:
            return Attempt(label, changes, "hung", f"no answer in {timeout:g} s; killed", seconds)
        if child.code is None:
            return Attempt(label, changes, "failed", child.problem or "could not start", seconds)
        if child.code == -signal.SIGKILL:
            return Attempt(label, changes, "killed", "SIGKILL: out of memory, most likely", seconds)
        if child.code < 0:
            return Attempt(label, changes, "crashed", describe(signal_name(-child.code), child.stderr)[0], seconds)
        try:
            result = json.loads(child.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            last = child.stderr.strip().splitlines()[-1:] or [f"exit {child.code}"]
            return Attempt(label, changes, "failed", last[0], seconds)
        if not result.get("ok"):
            return Attempt(label, changes, "failed", result.get("error", "failed"), seconds, result)
        detail = f"load {result['load_s']:.2f} s, first token {result['prompt_s']:.2f} s"
        return Attempt(label, changes, "ok", detail, seconds, result)

    return attempt


_CHILD = "import sys; sys.path.pop(0); from coder_cli.engine.probe import main; sys.exit(main(sys.argv[1:]))"
