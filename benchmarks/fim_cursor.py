"""Completion at every cursor position: HumanEval infilling in three layouts built from the same tasks.

Each task's hole (one line, or several for --set multi) is asked for with the cursor where an
editor has it:

  a  the hole's line removed, the cursor at column 0 where it was (the layout of the HumanEval
     infilling files, and of benchmarks/fim.py): the fill is an inserted line;
  b  the cursor at the end of the line above the hole, no newline typed yet (prefix without its
     final newline): the fill starts with the newline. Where the line above is blank (229 of
     the 1,033 single-line tasks) the cursor is on that empty line;
  c  the cursor after the hole's indentation, on a line that holds nothing else.

coder: the real ``Completer`` in process (mode auto, or --mode), as `coder complete
--stdin-json` runs it. bare: ``<|fim_prefix|>…<|fim_suffix|>…<|fim_middle|>`` greedy; for
single lines its fill is the raw text up to the end of its first non-empty line (leading
newlines kept, so in layout b it starts a new line only where the model did; in layout a the
inserted line gets its newline); for blocks, the raw text as generated (cap 256 tokens).

Exact: the fill (in layout c, after the indentation typed) equals the removed code (lines compared
without trailing spaces, blank lines at the ends ignored). Functional: the whole file passes
the task's tests. Greedy decoding throughout; one layout per run.

Usage: python benchmarks/fim_cursor.py LAYOUT [--set single|multi] [--limit N] [--seed 0]
                                       [--model default] [--mode auto] [--out FILE.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, median, store_path, table  # noqa: E402
from fim import DATA, load, norm, passes  # noqa: E402

LAYOUTS = ("a", "b", "c")


def layout(task: dict, which: str) -> tuple[str, str, str]:
    """(prefix, suffix, the text before the cursor on its line) for TASK in layout WHICH."""
    prompt, hole, suffix = task["prompt"], task["canonical_solution"], task["suffix"]
    if which == "a":
        return prompt, suffix, ""
    if which == "b":
        before = prompt[:-1].rsplit("\n", 1)[-1]
        return prompt[:-1], "\n" + suffix, before
    indent = _indent_of(hole)
    return prompt + indent, "\n" + suffix, indent


def expected_fill(task: dict, which: str) -> str:
    hole = task["canonical_solution"]
    if which == "a":
        return hole
    if which == "b":
        return "\n" + hole[:-1]
    return hole[len(_indent_of(hole)) : -1]


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def bare_fill(engine, prefix: str, suffix: str, which: str, block: bool) -> tuple[str, float]:
    from coder_cli.core.fim_prompt import fim_layout
    from coder_cli.engine import GenParams

    t0 = time.perf_counter()
    tokens = fim_layout(engine.tokenize, engine.fim_tokens(), prefix, suffix)
    gen = engine.complete(tokens, GenParams(max_tokens=256 if block else 48, temperature=0.0))
    raw = ""
    try:
        for piece in gen:
            raw += piece
            if not block and re.search(r"\S[^\n]*\n", raw):
                break  # its first non-empty line is complete
    finally:
        gen.close()
    if not block:
        lead = len(raw) - len(raw.lstrip("\n"))
        raw = raw[:lead] + raw[lead:].partition("\n")[0]
        if which == "a" and raw.strip():
            raw = raw.lstrip("\n") + "\n"
    return raw, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("layout", choices=LAYOUTS)
    ap.add_argument("--set", choices=sorted(DATA), default="single")
    ap.add_argument("--limit", type=int, default=0, help="a fixed random subset of N tasks (with --seed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default="default")
    ap.add_argument("--mode", default="auto", help="coder's mode (auto, line, block)")
    ap.add_argument("--paths", default="coder,bare")
    ap.add_argument("--suffix-tokens", type=int, default=0, help="coder's suffix window (default: the Completer's)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    from coder_cli import manifest
    from coder_cli.actions.complete import Completer, FillRequest
    from coder_cli.engine.llama import LlamaEngine

    tasks = load(DATA[args.set])
    if args.limit:
        keep = set(random.Random(args.seed).sample(range(len(tasks)), args.limit))
        tasks = [t for i, t in enumerate(tasks) if i in keep]
    work = Path(tempfile.mkdtemp(prefix="coder-fimcursor-"))
    repo = work / "human-eval"
    repo.mkdir()
    engine = LlamaEngine(str(store_path(work / "home", args.model)), args.model, prompt_format=manifest.default().prompt)
    kw = {"suffix_tokens": args.suffix_tokens} if args.suffix_tokens else {}
    completer = Completer(engine, work / "home", **kw)
    paths = [p for p in ("coder", "bare") if p in args.paths.split(",")]
    block = args.set == "multi"
    score = {p: {"exact": 0, "pass": 0, "ms": [], "kinds": {}} for p in paths}
    rows = [{"task_id": t["task_id"]} for t in tasks]
    t_start = time.perf_counter()
    for p in paths:  # one path at a time: each request shares its prompt's head with the one before
        for n, (task, row) in enumerate(zip(tasks, rows, strict=True), 1):
            prefix, suffix, before = layout(task, args.layout)
            whole = task["prompt"] + task["canonical_solution"] + task["suffix"]
            assert prefix + expected_fill(task, args.layout) + suffix == whole
            kind = row["kind"] = "after a line" if before.strip() else "empty line"
            if p == "coder":
                fill = completer.fill(FillRequest(repo / f"{task['entry_point']}.py", prefix, suffix, args.mode))
                text, seconds = fill.completion, fill.seconds
                row["mode"] = fill.mode
            else:
                text, seconds = bare_fill(engine, prefix, suffix, args.layout, block)
            exact = norm(before + text if args.layout == "c" else text) == norm(task["canonical_solution"])
            ok = passes(task, text, prefix=prefix, suffix=suffix)
            s = score[p]
            s["exact"] += exact
            s["pass"] += ok
            s["ms"].append(seconds * 1000)
            k = s["kinds"].setdefault(kind, [0, 0, 0])
            k[0] += exact
            k[1] += ok
            k[2] += 1
            row[p] = {"fill": text, "exact": exact, "pass": ok, "ms": round(seconds * 1000, 1)}
            said = f"{'exact' if exact else '-'}/{'pass' if ok else 'fail'}/{seconds * 1000:.0f}ms"
            print(f"[{n}/{len(tasks)}] {task['task_id']} {kind}: {p} {said}", file=sys.stderr, flush=True)
    completer.close()
    elapsed = time.perf_counter() - t_start
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    total = len(tasks)
    what = f"{args.set}-line infilling, layout {args.layout}" + (
        f", fixed random subset of {total} (seed {args.seed})" if args.limit else ""
    )
    print(f"HumanEval {what}: {total} tasks, model {args.model}, coder mode {args.mode}, greedy")
    print(f"machine: {machine()}; {elapsed / 60:.1f} min in all\n")
    out = []
    for p in paths:
        s = score[p]
        out.append([p, "all", _pct(s["exact"], total), _pct(s["pass"], total), f"{median(s['ms']):.0f}"])
        if len(s["kinds"]) > 1:
            for kind, (e, ok, m) in sorted(s["kinds"].items()):
                out.append(["", kind, _pct(e, m), _pct(ok, m), ""])
    print(table(["path", "cursor", "exact match", "functional pass", "median ms/fill"], out))


def _pct(n: int, total: int) -> str:
    return f"{n}/{total} = {100 * n / total:.1f}%"


if __name__ == "__main__":
    main()
