"""Helpers shared by the benchmarks (not part of the package)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:
        mem = "?"
    return f"{cpu}, {os.cpu_count()} CPUs, {mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def coder_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "coder_cli", *args]


def env_with(home: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODER_")}
    if home is not None:
        env["CODER_HOME"] = str(home)
    env.update(extra)
    return env


def commit_all(folder: Path, message: str) -> None:
    """FOLDER made a git repository with everything in it committed (as the user "bench")."""
    git = ["git", "-C", str(folder), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], check=True)


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def store_path(home: Path | None, model: str) -> Path:
    """Install MODEL into the store (from the mirror) and return its path."""
    out = subprocess.run(coder_cmd("models", "pull", model), env=env_with(home), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"cannot install {model}: {out.stderr.strip()}")
    path = subprocess.run(coder_cmd("models", "path", model), env=env_with(home), capture_output=True, text=True)
    return Path(path.stdout.strip())


def raw_llama(model_path: Path, threads: int = 0):
    """The baseline: llama-cpp-python used directly, with the settings coder uses by default,
    extra buffer types included (off on a build that reports AMX, where llama.cpp's default
    crashes at the first decode: engine/native.py)."""
    import llama_cpp
    from llama_cpp import Llama

    from coder_cli.engine.llama import physical_cores, system_info
    from coder_cli.engine.native import decide_extra_bufts, model_params

    n = threads or physical_cores()
    with model_params(llama_cpp, use_extra_bufts=decide_extra_bufts("auto", system_info()).on):
        return Llama(
            model_path=str(model_path),
            n_ctx=8192,
            n_batch=512,
            n_ubatch=512,
            n_threads=n,
            n_threads_batch=n,
            flash_attn=True,
            verbose=False,
        )
