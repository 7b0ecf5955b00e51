"""HumanEvalFix (Python): how many of the 164 bugs `coder fix` repairs, against a naive one-shot baseline.

Each bug is written out as a small project: solution.py (the buggy function) and
test_solution.py (the task's tests as a pytest test). coder runs as a user would:
`coder fix solution.py --test "python -m pytest -x -q test_solution.py" --yes`.
The naive baseline gives the same model the buggy function and the test output
once and asks for the fixed function: no context, no loop. Every file not
reported fixed must be byte-identical to before (asserted), and a fix counts
only when the tests pass and the test file is untouched.

Prints the totals, then the same by bug type (HumanEvalFix's six kinds), and which
kind of candidate repaired each bug (a fill of a line, an edit, an insertion, a rewrite).

Usage: python benchmarks/repair.py [--model default] [--limit N] [--seed 0] [--paths coder,naive]
                                   [--bug-type "missing logic"]
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
from _common import REPO, coder_cmd, env_with, machine, median, raw_llama, store_path, table  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "humanevalpack_python.jsonl"


def write_project(task: dict, folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "solution.py").write_text(task["declaration"] + task["buggy_solution"])
    test = re.sub(rf"^check\({re.escape(task['entry_point'])}\)\s*$", "", task["test"], flags=re.M)
    (folder / "test_solution.py").write_text(
        "from solution import *  # noqa: F403\n" + test + f"\n\ndef test_check():\n    check({task['entry_point']})\n"
    )


def run_tests(folder: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "test_solution.py"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(exc.cmd, 1, "the tests timed out after 20 s (an endless loop?)", "")


def naive(llm, task: dict, folder: Path) -> bool:
    from coder_cli.core.edits import NoCodeBlock, pick_block
    from coder_cli.core.fix_prompts import naive_request

    code = (folder / "solution.py").read_text()
    before = run_tests(folder)
    error = (before.stdout + before.stderr)[-3000:]
    reply = llm.create_chat_completion(
        messages=[{"role": "user", "content": naive_request("python", code, error)}], max_tokens=1024, temperature=0.0
    )["choices"][0]["message"]["content"]
    try:
        fixed = pick_block(reply, "python", task["entry_point"])
    except NoCodeBlock:
        return False
    (folder / "solution.py").write_text(fixed)
    return run_tests(folder).returncode == 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--limit", type=int, default=0, help="a fixed random subset of N tasks (with --seed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--paths", default="coder,naive")
    ap.add_argument("--bug-type", default="", help="only the bugs of this HumanEvalFix bug type")
    ap.add_argument("--tasks", default="", help="only these task ids, comma-separated (Python/5,Python/10)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--summarize", type=Path, nargs="+", help="print the tables of earlier --out files together; run nothing")
    args = ap.parse_args()
    if args.summarize:
        summarize(args.summarize)
        return
    tasks = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    if args.bug_type:
        tasks = [t for t in tasks if t["bug_type"] == args.bug_type]
    if args.tasks:
        tasks = [t for t in tasks if t["task_id"] in args.tasks.split(",")]
    if args.limit:
        tasks = sorted(random.Random(args.seed).sample(tasks, args.limit), key=lambda t: int(t["task_id"].split("/")[1]))
    paths = args.paths.split(",")
    rows: list[dict] = []
    work = Path(tempfile.mkdtemp(prefix="coder-repair-"))
    home = work / "home"
    model_path = store_path(home, args.model)
    llm = None
    if "naive" in paths:
        llm = raw_llama(model_path)
    out = args.out.open("w") if args.out else None
    for i, task in enumerate(tasks, 1):
        row = {"task_id": task["task_id"], "bug_type": task["bug_type"]}
        if "coder" in paths:
            folder = work / f"coder-{i}"
            write_project(task, folder)
            before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
            t0 = time.perf_counter()
            r = subprocess.run(
                coder_cmd(
                    "fix",
                    "solution.py",
                    "--model",
                    args.model,
                    "--yes",
                    "--json",
                    "--timeout",
                    "20",
                    "--test",
                    f"{sys.executable} -m pytest -x -q -p no:cacheprovider test_solution.py",
                ),
                cwd=folder,
                env=env_with(home),
                capture_output=True,
                text=True,
                timeout=1800,
            )
            seconds = time.perf_counter() - t0
            try:
                result = json.loads(r.stdout)
            except ValueError:
                result = {}
            passed = [a["how"] for a in result.get("attempts", []) if a["outcome"] == "passed"]
            after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
            ok = (
                r.returncode == 0
                and after["test_solution.py"] == before["test_solution.py"]
                and run_tests(folder).returncode == 0
            )
            if not ok:
                assert after["solution.py"] == before["solution.py"], f"{task['task_id']}: changed but not fixed"
            row["coder"] = ok
            row["seconds"] = round(seconds, 2)
            # what was checked, in order: where a repair ranked, and what failures cost
            attempts = result.get("attempts", [])
            row["checks"] = sum(a["outcome"] in ("passed", "failed") for a in attempts)
            row["attempts"] = [[a["round"], a["how"], a["outcome"][:6], round(a["seconds"], 2)] for a in attempts]
            if ok:
                row["how"] = passed[0] if passed else ""
        if "naive" in paths:
            folder = work / f"naive-{i}"
            write_project(task, folder)
            row["naive"] = naive(llm, task, folder)
        rows.append(row)
        if out:
            out.write(json.dumps(row) + "\n")
            out.flush()
        print(
            f"[{i}/{len(tasks)}] {task['task_id']} ({task['bug_type']}): "
            + ", ".join(f"{p}={'fixed' if row[p] else 'no'}" for p in paths),
            file=sys.stderr,
            flush=True,
        )
    print(f"machine: {machine()}")
    subset = f" (random subset, seed {args.seed})" if args.limit else ""
    print(f"model: {model_path.name}, {len(tasks)} tasks{subset}\n")
    report(rows, paths)


def report(rows: list[dict], paths: list[str]) -> None:
    """The tables: totals, by bug type, the time per task and per repair, what repaired each bug."""
    n = len(rows)
    fixed = {p: sum(bool(r.get(p)) for r in rows) for p in paths}
    print(table(["path", "repaired", "%"], [[p, f"{fixed[p]}/{n}", f"{100 * fixed[p] / n:.1f}"] for p in paths]))
    print()
    types: dict[str, dict[str, int]] = {}
    for r in rows:
        counts = types.setdefault(r["bug_type"], {"n": 0, **{p: 0 for p in paths}})
        counts["n"] += 1
        for p in paths:
            counts[p] += bool(r.get(p))
    type_rows = [[t, str(c["n"]), *(f"{c[p]}/{c['n']}" for p in paths)] for t, c in sorted(types.items())]
    print(table(["bug type", "tasks", *paths], type_rows))
    if "coder" in paths:
        times = [r["seconds"] for r in rows]
        fixed_times = [r["seconds"] for r in rows if r["coder"]]
        by: dict[str, int] = {}
        for r in rows:
            if r["coder"]:
                kind = _kind(r.get("how", ""))
                by[kind] = by.get(kind, 0) + 1
        print(f"\ncoder fix: median wall time per task {median(times):.1f} s, per repaired task {median(fixed_times):.1f} s")
        print("repaired by: " + ", ".join(f"{k} {v}" for k, v in sorted(by.items(), key=lambda kv: -kv[1])))
    if len(paths) == 2:
        print(f"coder - naive: {100 * (fixed['coder'] - fixed['naive']) / n:+.1f} points (goal: >= +15)")


def summarize(files: list[Path]) -> None:
    """The tables of one or more runs' --out records taken together (a run split by bug type)."""
    rows = [json.loads(line) for f in files for line in f.read_text().splitlines() if line.strip()]
    ids = [r["task_id"] for r in rows]
    if len(ids) != len(set(ids)):
        sys.exit("error: a task is in more than one of the files")
    paths = [p for p in ("coder", "naive") if all(p in r for r in rows)]
    print(f"{len(rows)} tasks from " + ", ".join(f.name for f in files) + "\n")
    report(rows, paths)


def _kind(how: str) -> str:
    """The kind of candidate an attempt's description names ("line 3 edited (wrap)" -> "edit: wrap")."""
    if how.startswith("rewrite"):
        return "rewrite"
    if "edited (" in how:
        return "edit: " + how.split("edited (", 1)[1].rstrip(")")
    for word in ("refilled", "changed", "deleted", "inserted"):
        if word in how:
            return {"refilled": "line fill", "changed": "alternative", "deleted": "deletion", "inserted": "insertion"}[word]
    return how or "?"


if __name__ == "__main__":
    main()
