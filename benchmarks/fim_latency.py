"""Latency of `coder complete --stdin-json`, the way an editor uses it.

The repository is a copy of this project's committed files (a real repository for
the cross-file context); the buffer is one of its Python files of about 300 lines.
One `coder complete --stdin-json` process answers single-line fills at 20
successive positions moving down the file: at each, the line is blanked after its
indentation, as when someone is about to write it (prefix: the file up to there;
suffix: the rest). Two walks: "typing" moves 2 lines down per request; "spread"
covers the whole file (about 14 lines per request). Times are the client's wall
clock from writing the request to reading the answer. A cold `coder complete
FILE:LINE` process (model load included) is timed too.

Usage: python benchmarks/fim_latency.py [--model default] [--threads 2] [--file coder_cli/actions/fix.py]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, coder_cmd, commit_all, env_with, machine, store_path, table  # noqa: E402

POSITIONS = 20


def snapshot(dst: Path) -> None:
    """This project's committed files in DST, committed again in a fresh repository."""
    dst.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dst)], input=archive, check=True)
    commit_all(dst, "snapshot")


def walk(lines: list[str], start: int, step: int, count: int = POSITIONS) -> list[int]:
    """COUNT code lines (0-based) from START, STEP apart, skipping blank lines."""
    out, i = [], start
    while len(out) < count and i < len(lines):
        if lines[i].strip():
            out.append(i)
            i += step
        else:
            i += 1
    return out


def request(rel: str, lines: list[str], i: int) -> dict:
    indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
    prefix = "".join(lines[:i]) + indent
    suffix = "\n" + "".join(lines[i + 1 :])
    return {"path": rel, "prefix": prefix, "suffix": suffix, "mode": "line"}


def serve_walk(repo: Path, home: Path, rel: str, positions: list[int], model: str, threads: int) -> list[dict]:
    lines = (repo / rel).read_text().splitlines(keepends=True)
    proc = subprocess.Popen(
        coder_cmd("complete", "--stdin-json", "--model", model, "--threads", str(threads)),
        cwd=repo,
        env=env_with(home),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    out = []
    try:
        for i in positions:
            t0 = time.perf_counter()
            proc.stdin.write(json.dumps(request(rel, lines, i)) + "\n")
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())
            answer["wall_ms"] = (time.perf_counter() - t0) * 1000
            answer["line"] = i + 1
            if "error" in answer:
                sys.exit(f"request at line {i + 1} failed: {answer['error']}")
            out.append(answer)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, round(q * (len(xs) - 1))))
    return xs[k]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--file", default="coder_cli/actions/fix.py")
    ap.add_argument("--positions", type=int, default=POSITIONS)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coder-fimlat-"))
    home = work / "home"
    store_path(home, args.model)
    repo = work / "project"
    snapshot(repo)
    lines = (repo / args.file).read_text().splitlines(keepends=True)
    rows = []
    details = {}
    n = args.positions
    for name, start, step in [("typing", len(lines) // 3, 2), ("spread", 20, max(1, (len(lines) - 30) // n))]:
        answers = serve_walk(repo, home, args.file, walk(lines, start, step, n), args.model, args.threads)
        after = [a["wall_ms"] for a in answers[1:]]
        details[name] = answers
        rows.append(
            [
                f"{name} ({len(answers)} positions, lines {answers[0]['line']}-{answers[-1]['line']})",
                f"{answers[0]['wall_ms']:.0f}",
                f"{pct(after, 0.5):.0f}",
                f"{pct(after, 0.9):.0f}",
                f"{max(after):.0f}",
                f"{sum(a['tokens']['prompt'] - a['tokens']['cached'] for a in answers[1:]) / len(after):.0f}",
            ]
        )
    i = walk(lines, len(lines) // 2, 1)[0]
    t0 = time.perf_counter()
    cold = subprocess.run(
        coder_cmd("complete", f"{args.file}:{i + 1}", "--model", args.model, "--threads", str(args.threads), "--json"),
        cwd=repo,
        env=env_with(home),
        capture_output=True,
        text=True,
    )
    cold_ms = (time.perf_counter() - t0) * 1000
    if cold.returncode != 0:
        sys.exit(f"cold run failed: {cold.stderr}")
    fill = json.loads(cold.stdout)["fills"][0]
    print(f"`coder complete --stdin-json`, {args.file} ({len(lines)} lines), model {args.model}, {args.threads} threads")
    print(f"machine: {machine()}\n")
    print(
        table(
            ["walk", "first ms", "p50 ms", "p90 ms", "max ms", "new prompt tokens/request"],
            rows,
        )
    )
    print(
        f"\ncold `coder complete {args.file}:{i + 1}` process: {cold_ms:.0f} ms wall "
        f"(fill {fill['timing_ms']:.0f} ms, {fill['tokens']['prompt']} prompt tokens, {len(fill['context'])} context files)"
    )
    for name, answers in details.items():
        print(f"\n{name} (line: wall ms / new prompt tokens): ")
        print(", ".join(f"L{a['line']} {a['wall_ms']:.0f}/{a['tokens']['prompt'] - a['tokens']['cached']}" for a in answers))


if __name__ == "__main__":
    main()
