"""Hooks and the shared engine: `coder commit-msg` with and without a running `coder serve`, and
ten concurrent `coder ask` calls against one server. Every run is a real `coder` process, as a git
hook or a shell starts it; the server is a real `coder serve` process on a free loopback port.

1. commit-msg. A clone of this repository; for each sample commit of its history (up to a fixed
   commit, SAMPLE_UPTO, so re-runs use the same five) the commit's
   change is staged on top of its parent (`git cherry-pick --no-commit`), then timed:
   - in-process: `coder commit-msg --staged` with CODER_SERVER=off (loads the model itself);
   - serve, new diff: the same command with the server running, the first time it sees this diff
     (a hook on a fresh commit: the server has only the system prompt cached);
   - serve, repeat: the same command again on the same staged diff (the flow `coder commit-msg`
     to preview, then `git commit` whose hook asks again; the server still holds the diff);
   - serve, after review: `coder review --staged` first (untimed: what the pre-commit hook runs
     before prepare-commit-msg), then commit-msg: both prompts start with the same diff;
   - serve, read at git add: an unrelated `coder ask` first (the server forgets the diff), then
     `coder commit-msg --prewarm` (untimed: what the post-index-change hook of `coder hook install
     --prewarm` starts in the background at `git add`), then commit-msg.
   Wall time per run; medians; ratio = serve / in-process (the target is <= 0.25).
2. Ten concurrent asks. Ten `coder ask` processes started together, each a different sum
   ("What is A + B? Answer with the number only."), all against one server: every answer
   must contain the right number. Total wall time, per-call latency. Baseline in the same run:
   the same ten asks in-process one after another (CODER_SERVER=off).

Usage: python benchmarks/hooks.py [--model default] [--commits 5] [--skip-ask] [--skip-commit]
Results: printed tables; `--out FILE` also writes them.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, coder_cmd, env_with, machine, median, store_path, table  # noqa: E402

# Small, self-contained commits of this repository's history (a few files each, code and docs),
# drawn from the history up to a fixed commit, so the sample does not move as the project grows.
SAMPLE_LIMIT_LINES = 120
SAMPLE_UPTO = "5ca1c37"  # the last commit before the hooks work


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def sample_commits(n: int, seed: int = 0) -> list[str]:
    """Non-merge commits of this repository up to SAMPLE_UPTO whose change is 10 to SAMPLE_LIMIT_LINES lines."""
    out = git("log", "--no-merges", "--numstat", "--format=@%H", SAMPLE_UPTO, cwd=REPO)
    picks: list[str] = []
    sha, lines = None, 0
    for row in out.splitlines() + ["@"]:
        if row.startswith("@"):
            if sha and 10 <= lines <= SAMPLE_LIMIT_LINES:
                picks.append(sha)
            sha, lines = row[1:], 0
        elif row.strip():
            added, removed, _ = row.split("\t", 2)
            lines += int(added) + int(removed) if added.isdigit() and removed.isdigit() else 0
    random.Random(seed).shuffle(picks)
    return picks[:n]


def coder(*args: str) -> list[str]:
    """The installed `coder` script: `python -m coder_cli` would import the clone's own old
    coder_cli from the working directory (this benchmark commits inside a clone of coder)."""
    return [str(Path(sys.executable).parent / "coder"), *args]


def start_server(home: Path, model: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        coder_cmd("serve", "--port", "0", "--model", str(model)),
        env=env_with(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    record = home / "server.json"
    deadline = time.time() + 300
    while not record.exists():
        if proc.poll() is not None or time.time() > deadline:
            sys.exit(f"coder serve did not start: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.1)
    return proc, json.loads(record.read_text())["url"]


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - t0, proc


def bench_commit_msg(model: Path, url: str, work: Path, n: int) -> tuple[str, dict]:
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    git("config", "user.email", "bench@example.com", cwd=clone)
    git("config", "user.name", "bench", cwd=clone)
    local = env_with(work / "home-local", CODER_SERVER="off")
    remote = env_with(work / "home-local", CODER_SERVER=url)
    cmd = coder("commit-msg", "--staged", "--model", str(model), "--json")
    modes = ("in_process", "serve_new", "serve_repeat", "after_review", "after_add")
    rows, record = [], {k: [] for k in modes}
    for sha in sample_commits(n):
        git("checkout", "-q", "--detach", f"{sha}^", cwd=clone)
        git("cherry-pick", "--no-commit", sha, cwd=clone)
        stat = git("diff", "--cached", "--shortstat", cwd=clone).strip()
        results = {}
        for label in modes:
            env = local if label == "in_process" else remote
            first = None
            if label == "after_review":  # the pre-commit hook's review reads the diff first (not timed)
                first = coder("review", "--staged", "--model", str(model))
            if label == "after_add":  # what the post-index-change hook starts at `git add` (not timed)
                evict = coder("ask", "--model", str(model), "Say ok.")  # another prompt: the server forgets the diff
                _, proc = timed(evict, clone, remote)
                first = coder("commit-msg", "--staged", "--prewarm", "--model", str(model))
            if first is not None:
                _, proc = timed(first, clone, remote)
                if proc.returncode != 0:
                    sys.exit(f"{first[1]} failed ({sha[:8]}): {proc.stderr.strip()}")
            seconds, proc = timed(cmd, clone, env)
            if proc.returncode != 0:
                sys.exit(f"commit-msg failed ({label}, {sha[:8]}): {proc.stderr.strip()}")
            data = json.loads(proc.stdout)
            results[label] = (seconds, data)
            record[label].append(seconds)
        subject = results["in_process"][1].get("subject", "")
        same = subject == results["serve_new"][1].get("subject", "")
        log(f"{sha[:8]} {stat}: {' / '.join(f'{k} {v[0]:.2f} s' for k, v in results.items())}; same message: {same}")
        rows.append(
            [
                sha[:8],
                re.sub(r" (insertion|deletion)s?\((.)\)", r" \2", stat.replace(" changed", "")),
                _tokens(results["in_process"][1]),
                f"{results['in_process'][0]:.2f}",
                f"{results['serve_new'][0]:.2f}",
                f"{results['serve_repeat'][0]:.2f}",
                f"{results['after_review'][0]:.2f}",
                f"{results['after_add'][0]:.2f}",
                "yes" if same else "no",
            ]
        )
        git("reset", "-q", "--hard", cwd=clone)
    mi, mn, mr, ma, mp = (median(record[k]) for k in modes)
    rows.append(["median", "", "", f"{mi:.2f}", f"{mn:.2f}", f"{mr:.2f}", f"{ma:.2f}", f"{mp:.2f}", ""])
    headers = ["commit", "staged change", "prompt tokens", "in-process s", "serve, new diff s", "serve, repeat s"]
    out = table([*headers, "serve, after review s", "serve, read at git add s", "same message"], rows)
    out += (
        f"\n\nratio serve / in-process (medians): new diff {mn / mi:.2f} x, repeat {mr / mi:.2f} x, "
        f"after the pre-commit review {ma / mi:.2f} x, read at git add {mp / mi:.2f} x (target <= 0.25 x)"
    )
    return out, dict(zip(modes, (mi, mn, mr, ma, mp), strict=True))


def _tokens(data: dict) -> str:
    tokens = data.get("tokens") or {}
    return str(tokens.get("prompt", "?"))


def bench_concurrent_ask(model: Path, url: str, work: Path, n: int = 10) -> str:
    """Correct = the server's reply is the in-process reply to the same question (greedy decoding:
    a server must not change answers) and contains the right sum."""
    rng = random.Random(7)
    sums = [(rng.randint(2, 9), rng.randint(2, 9)) for _ in range(n)]
    question = "What is {} + {}? Answer with the number only."
    remote = env_with(work / "home-local", CODER_SERVER=url)
    local = env_with(work / "home-local", CODER_SERVER="off")

    def launch(a: int, b: int, env) -> subprocess.Popen:
        return subprocess.Popen(
            coder("ask", "--model", str(model), question.format(a, b)),
            env=env,
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    log(f"the {n} asks in-process, one after another (the baseline)…")
    t1 = time.perf_counter()
    baseline = []
    for a, b in sums:
        out, _ = launch(a, b, local).communicate()
        baseline.append(out.strip())
    sequential = time.perf_counter() - t1
    log(f"{n} concurrent asks against the server…")
    t0 = time.perf_counter()
    procs = [(launch(a, b, remote), time.perf_counter()) for a, b in sums]
    latencies, replies, failed = [], [], 0
    for proc, started in procs:
        out, err = proc.communicate()
        latencies.append(time.perf_counter() - started)
        replies.append(out.strip())
        if proc.returncode != 0:
            failed += 1
            log(f"  failed: {err.strip()}")
    total = time.perf_counter() - t0
    same = sum(r == b for r, b in zip(replies, baseline, strict=True))
    right = sum(_says(r, a + b) for r, (a, b) in zip(replies, sums, strict=True))
    base_right = sum(_says(r, a + b) for r, (a, b) in zip(baseline, sums, strict=True))
    for r, b, (x, y) in zip(replies, baseline, sums, strict=True):
        log(f"  {x} + {y}: server {r!r}, in-process {b!r}")
    rows = [
        [f"{n} in-process, one after another", "", f"{base_right}/{n}", "0", f"{sequential:.2f}", f"{sequential / n:.2f}", ""],
        [
            f"{n} concurrent, one coder serve",
            f"{same}/{n}",
            f"{right}/{n}",
            str(failed),
            f"{total:.2f}",
            f"{median(latencies):.2f}",
            f"{max(latencies):.2f}",
        ],
    ]
    out = table(
        ["run", "same reply as in-process", "right sum", "failed", "total wall s", "median call s", "slowest call s"], rows
    )
    return out + f"\n\nserver total / sequential in-process total: {total / sequential:.2f} x"


def _says(reply: str, number: int) -> bool:
    """The reply's numbers are exactly NUMBER ("19" does not say 9)."""
    return re.findall(r"-?\d+", reply) == [str(number)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--commits", type=int, default=5)
    ap.add_argument("--skip-ask", action="store_true")
    ap.add_argument("--skip-commit", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    model = store_path(None, args.model)
    parts = [f"machine: {machine()}", f"model: {model.name}", ""]
    with tempfile.TemporaryDirectory(prefix="coder-hooks-bench-") as tmp:
        work = Path(tmp)
        (work / "home-local").mkdir()
        server, url = start_server(work / "home-serve", model)
        try:
            if not args.skip_commit:
                text, _ = bench_commit_msg(model, url, work, args.commits)
                parts += ["## commit-msg: in-process vs a running coder serve", "", text, ""]
            if not args.skip_ask:
                parts += ["## ten concurrent coder ask against one coder serve", "", bench_concurrent_ask(model, url, work), ""]
        finally:
            server.terminate()
            server.wait(30)
    report = "\n".join(parts)
    print(report)
    if args.out:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
