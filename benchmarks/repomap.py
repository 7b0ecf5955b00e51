"""Repo map speed on the Python standard library: coder against Aider's RepoMap, same tree, same run.

Measures coder's cold build (empty cache), warm map (nothing changed), map after
touching one file, and peak RSS of the cold build (the process and its parse
workers together), then Aider's RepoMap cold build on the same copy of the tree.
Aider is installed into its own virtualenv (.bench/aider-venv) on first use and
given a plain token counter (4 characters a token), so it needs no network and
pays nothing for counting; if it cannot be installed or run, the output says why.

Usage: python benchmarks/repomap.py [--budget 1024] [--reps 3] [--skip-aider]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, coder_cmd, env_with, machine, median, store_path, table  # noqa: E402

AIDER_VENV = REPO / ".bench" / "aider-venv"

AIDER_DRIVER = textwrap.dedent('''
    import json, os, sys, time
    t0 = time.perf_counter()
    from aider.repomap import RepoMap
    from aider.io import InputOutput

    class Counter:
        """A plain token counter: no tokenizer download, no network."""
        def token_count(self, text):
            return len(text) // 4

    root = sys.argv[1]
    files = []
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if x not in ("__pycache__", ".aider.tags.cache.v4")]
        files += [os.path.join(d, n) for n in names if n.endswith(".py")]
    io = InputOutput(pretty=False, yes=True)
    rm = RepoMap(map_tokens=int(sys.argv[2]), root=root, main_model=Counter(), io=io, verbose=False)
    t1 = time.perf_counter()
    text = rm.get_repo_map([], files) or ""
    t2 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "map_s": t2 - t1, "total_s": t2 - t0, "files": len(files), "chars": len(text)}))
''')


def copy_stdlib(dst: Path) -> Path:
    src = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("site-packages", "__pycache__", "*.pyc"), symlinks=True)
    return dst


def run_measured(cmd: list[str], env: dict, cwd: Path | None = None) -> tuple[float, float, str, str]:
    """Wall seconds, peak RSS in MB of the process tree (polled), stdout, stderr."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        try:
            p = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            try:
                procs = [p, *p.children(recursive=True)]
                peak = max(peak, sum(q.memory_info().rss for q in procs if q.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.02)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}): {err.strip()[-2000:]}")
    return wall, peak / 2**20, out, err


def ensure_aider() -> tuple[Path | None, str]:
    python = AIDER_VENV / "bin" / "python"
    if not python.exists():
        AIDER_VENV.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([sys.executable, "-m", "venv", str(AIDER_VENV)], capture_output=True, text=True)
        if r.returncode != 0:
            return None, f"cannot create a virtualenv: {r.stderr.strip()[-300:]}"
        r = subprocess.run([str(python), "-m", "pip", "install", "-q", "aider-chat"], capture_output=True, text=True)
        if r.returncode != 0:
            shutil.rmtree(AIDER_VENV, ignore_errors=True)
            return None, f"pip install aider-chat failed: {r.stderr.strip()[-500:]}"
    version = subprocess.run([str(python), "-c", "import aider; print(aider.__version__)"], capture_output=True, text=True)
    return python, version.stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=int, default=1024)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--skip-aider", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coder-repomap-"))
    tree = copy_stdlib(work / "stdlib")
    n_files = sum(1 for _ in tree.rglob("*.py"))
    size_mb = sum(p.stat().st_size for p in tree.rglob("*.py")) / 1e6
    model = store_path(work / "model-home", "default")  # the tokenizer comes from the default model
    print(f"machine: {machine()}")
    print(f"tree: {tree} ({n_files} Python files, {size_mb:.1f} MB), budget {args.budget} tokens\n")

    def coder(home: Path) -> tuple[float, float, dict]:
        wall, rss, out, _ = run_measured(
            coder_cmd("map", str(tree), "--budget", str(args.budget), "--model", str(model), "--json"), env_with(home)
        )
        return wall, rss, json.loads(out)

    colds, rsss, warms, touched = [], [], [], []
    for i in range(args.reps):
        home = work / f"home{i}"
        wall, rss, data = coder(home)
        colds.append(wall)
        rsss.append(rss)
        assert not data["stats"]["partial"], "the cold build hit its time budget"
        wall, _, data = coder(home)
        assert data["stats"]["map_cache_hit"]
        warms.append(wall)
        victim = tree / "json" / "decoder.py"
        st = victim.stat()
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        wall, _, data = coder(home)
        assert data["stats"]["parsed"] == 1
        touched.append(wall)
    stats = data["stats"]

    aider_line = ["Aider RepoMap cold build, s", "", "", ""]
    aider_note = ""
    ratio = ""
    if args.skip_aider:
        aider_note = "Aider skipped (--skip-aider)"
    else:
        python, version = ensure_aider()
        if python is None:
            aider_note = f"Aider could not run here: {version}"
        else:
            driver = work / "aider_driver.py"
            driver.write_text(AIDER_DRIVER)
            times, arss = [], []
            try:
                for _ in range(args.reps):
                    shutil.rmtree(tree / ".aider.tags.cache.v4", ignore_errors=True)
                    wall, rss, out, _ = run_measured(
                        [str(python), str(driver), str(tree), str(args.budget)], env_with(None, HF_HUB_OFFLINE="1"), cwd=tree
                    )
                    times.append(wall)
                    arss.append(rss)
                aider = median(times)
                aider_line = [f"Aider {version} RepoMap cold build, s", f"{aider:.2f}", f"{median(arss):.0f} MB", ""]
                ratio = f"{median(colds) / aider:.3f}"
            except RuntimeError as exc:
                aider_note = f"Aider could not run here: {exc}"
    rows = [
        ["coder cold build (empty cache), s", f"{median(colds):.2f}", f"{max(rsss):.0f} MB", ratio, "<= 0.5 x Aider"],
        ["coder warm map (nothing changed), s", f"{median(warms):.3f}", "", "", "<= 0.5"],
        ["coder map after touching one file, s", f"{median(touched):.3f}", "", "", "<= 1.0"],
        aider_line + ["baseline"],
    ]
    print(table(["measure", "median", "peak RSS", "coder / Aider", "target"], rows))
    print(
        f"\ncoder indexed {stats['files']} files, {stats['definitions']} definitions, {stats['references']} references;"
        f" map {stats['tokens']} tokens"
    )
    if aider_note:
        print(aider_note)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
