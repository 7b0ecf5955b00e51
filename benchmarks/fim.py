"""HumanEval infilling: `coder complete`'s fills against a bare fill-in-the-middle prompt, same model, same run.

coder: the real ``Completer`` (repository-level layout with the repository name and
path, prefix/suffix windows, post-processing by mode, the parse check with sampled
candidates), in process, the way `coder complete --stdin-json` runs it. The task's
prefix and suffix are the buffer; the file sits alone in a folder, so there is no
cross-file context to find.
bare: ``<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>`` and the model's
raw text up to its own end or a cap above the longest removed code (48 tokens for
single lines, 256 for blocks; the 0.5B model rarely stops on its own), nothing cut.

Where auto picks line mode (every single-line task), the line row repeats the auto
result instead of asking again. Exact match: the fill equals the removed code (lines compared without trailing
spaces, blank lines at the ends ignored). Functional: prefix + fill + suffix passes
the task's tests. Greedy decoding throughout.

Usage: python benchmarks/fim.py [--set single|multi] [--limit N] [--seed 0] [--model default]
                                [--modes auto,line] [--paths coder,bare] [--out FILE.jsonl]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, median, store_path, table  # noqa: E402

DATA = {
    "single": REPO.parent / "shared" / "data" / "HumanEval-SingleLineInfilling.jsonl.gz",
    "multi": REPO.parent / "shared" / "data" / "HumanEval-MultiLineInfilling.jsonl.gz",
}


def load(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh]


def norm(code: str) -> list[str]:
    lines = [ln.rstrip() for ln in code.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def passes(task: dict, fill: str, timeout: float = 10.0, prefix: str | None = None, suffix: str | None = None) -> bool:
    """Whether PREFIX + FILL + SUFFIX (by default the task's own prompt and suffix) passes TASK's tests."""
    prefix = task["prompt"] if prefix is None else prefix
    suffix = task["suffix"] if suffix is None else suffix
    program = prefix + fill + suffix + "\n\n" + task["test"] + f"\n\ncheck({task['entry_point']})\n"
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(program)
    try:
        return subprocess.run([sys.executable, fh.name], capture_output=True, timeout=timeout).returncode == 0
    except subprocess.TimeoutExpired:
        return False
    finally:
        Path(fh.name).unlink()


def bare_fill(engine, task: dict, cap: int) -> tuple[str, float]:
    from coder_cli.core.fim_prompt import fim_layout
    from coder_cli.engine import GenParams

    t0 = time.perf_counter()
    tokens = fim_layout(engine.tokenize, engine.fim_tokens(), task["prompt"], task["suffix"])
    gen = engine.complete(tokens, GenParams(max_tokens=cap, temperature=0.0))
    try:
        text = gen.text()
    finally:
        gen.close()
    return text, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=sorted(DATA), default="single")
    ap.add_argument("--limit", type=int, default=0, help="a fixed random subset of N tasks (with --seed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="default")
    ap.add_argument("--modes", default="auto,line", help="coder modes to run (auto, line, block)")
    ap.add_argument("--paths", default="coder,bare")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument(
        "--bare-max-tokens",
        type=int,
        default=0,
        help="token cap of the bare path (default: 48 single, 256 multi: above the longest removed code, 46 and 239 tokens)",
    )
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from coder_cli import manifest
    from coder_cli.actions.complete import Completer, FillRequest
    from coder_cli.engine.llama import LlamaEngine

    args.bare_max_tokens = args.bare_max_tokens or (48 if args.set == "single" else 256)
    tasks = load(DATA[args.set])
    if args.limit:
        keep = set(random.Random(args.seed).sample(range(len(tasks)), args.limit))
        tasks = [t for i, t in enumerate(tasks) if i in keep]  # dataset order: neighbours share prefixes
    work = Path(tempfile.mkdtemp(prefix="coder-fim-"))
    repo = work / "human-eval"
    repo.mkdir()
    model_path = store_path(work / "home", args.model)
    engine = LlamaEngine(str(model_path), args.model, threads=args.threads, prompt_format=manifest.default().prompt)
    modes = args.modes.split(",") if "coder" in args.paths else []
    paths = [f"coder {m}" for m in modes] + (["bare"] if "bare" in args.paths else [])
    score = {p: {"exact": 0, "pass": 0, "ms": []} for p in paths}
    rows: dict[str, dict] = {t["task_id"]: {"task_id": t["task_id"]} for t in tasks}
    completer = Completer(engine, work / "home")
    t_start = time.perf_counter()
    for n, task in enumerate(tasks, 1):  # all coder fills first: the engine reuses each prompt for the next
        req_path = repo / f"{task['entry_point']}.py"
        chose = None
        for m in modes:
            if m == chose:  # auto already chose this mode: the same request, the same greedy fill
                score[f"coder {m}"] = _add(score[f"coder {m}"], rows[task["task_id"]]["coder auto"])
                rows[task["task_id"]][f"coder {m}"] = rows[task["task_id"]]["coder auto"]
                continue
            fill = completer.fill(FillRequest(req_path, task["prompt"], task["suffix"], m))
            _score(score[f"coder {m}"], rows[task["task_id"]], f"coder {m}", task, fill.completion, fill.seconds)
            rows[task["task_id"]][f"coder {m} mode"] = fill.mode
            chose = fill.mode if m == "auto" else chose
        row = rows[task["task_id"]]
        said = " ".join(f"{m}={'pass' if row[f'coder {m}']['pass'] else 'fail'}/{row[f'coder {m}']['ms']:.0f}ms" for m in modes)
        print(f"[{n}/{len(tasks)}] {task['task_id']} coder {said}", file=sys.stderr, flush=True)
    if "bare" in paths:
        for n, task in enumerate(tasks, 1):
            text, seconds = bare_fill(engine, task, args.bare_max_tokens)
            _score(score["bare"], rows[task["task_id"]], "bare", task, text, seconds)
            row = rows[task["task_id"]]["bare"]
            print(
                f"[{n}/{len(tasks)}] {task['task_id']} bare {'pass' if row['pass'] else 'fail'}/{row['ms']:.0f}ms",
                file=sys.stderr,
                flush=True,
            )
    completer.close()
    elapsed = time.perf_counter() - t_start
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows.values()))
    total = len(tasks)
    what = f"{args.set}-line infilling" + (f", fixed random subset of {total} (seed {args.seed})" if args.limit else "")
    print(f"HumanEval {what}: {total} tasks, model {args.model}, greedy")
    print(f"machine: {machine()}; {elapsed / 60:.1f} min in all\n")
    out = []
    for p in paths:
        s = score[p]
        out.append([p, _pct(s["exact"], total), _pct(s["pass"], total), f"{median(s['ms']):.0f}"])
    print(table(["path", "exact match", "functional pass", "median ms/fill"], out))
    if "bare" in paths:
        for p in paths[:-1]:
            gain = 100 * (score[p]["pass"] - score["bare"]["pass"]) / total
            print(f"{p}: functional {gain:+.1f} points against bare")


def _score(s: dict, row: dict, path: str, task: dict, fill: str, seconds: float) -> None:
    exact = norm(fill) == norm(task["canonical_solution"])
    ok = passes(task, fill)
    s["exact"] += exact
    s["pass"] += ok
    s["ms"].append(seconds * 1000)
    row[path] = {"fill": fill, "exact": exact, "pass": ok, "ms": round(seconds * 1000, 1)}


def _add(s: dict, row: dict) -> dict:
    s["exact"] += row["exact"]
    s["pass"] += row["pass"]
    s["ms"].append(row["ms"])
    return s


def _pct(n: int, total: int) -> str:
    return f"{n}/{total} = {100 * n / total:.1f}%"


if __name__ == "__main__":
    main()
