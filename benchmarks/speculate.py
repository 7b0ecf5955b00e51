"""Prompt-lookup speculative decoding against plain greedy decoding, same engine, same run.

Every reply is generated twice by one loaded engine, once plainly (`speculate=False`) and once with
drafts (`speculate=True`), the cache cleared before each, the order alternating; it reports
generated tokens/s, wall time, the drafts' acceptance, and whether the two replies are the same
text. Cases (coder's own prompts):

  * edit: `coder chat` with a real 150-line file (from this Python's standard library: code no one
    here wrote) and "add type hints" / "add docstrings" / "rename" requests;
  * fix: the rewrite round's first request (FIX_SYSTEM + fix_request) on HumanEvalFix units, with
    the failure the buggy function really prints;
  * review: `coder review` of five commits of this repository (the hooks benchmark's sample);
  * commit: `coder commit-msg` of the same commits (a short reply: drafting mostly does not start);
  * free: free-form answers: "Explain ..." questions and `ask -x`-style new code (HumanEval).

Where a reply differs, the first differing position is computed again as the last row of batches of
1, 4 and 16 tokens: when the two tokens trade places with the batch size, when the speculative
reply's token wins there, or when they are within NEAR_TIE of each other, the difference is how a
batch rounds the logits (a near tie), not a wrong draft being kept.

Usage: python benchmarks/speculate.py [--model default|1.5b] [--edits 6] [--fix 20] [--review 5]
       [--free 10] [--out results.jsonl]
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, store_path, table  # noqa: E402

DATA = REPO.parent / "shared" / "data"
# Standard-library modules cut to their first ~150 lines at a top-level boundary.
EDIT_FILES = ("textwrap.py", "shlex.py", "fnmatch.py", "colorsys.py")
EDIT_ASKS = (
    "Add type hints to every function signature in {rel}. Show the changed functions.",
    "Add a one-line docstring to every function in {rel} that has none. Show the changed functions.",
    "Rename the function {name} to {new} in {rel}, and every call of it. Show the changed code.",
)
EXPLAIN = (
    "Explain what the function {name} in this code does, step by step.",
    "Explain how {name} could fail, and how to make it more robust.",
)


def edit_cases(n: int) -> list[dict]:
    from coder_cli.core import chat_prompts

    lib = Path(sysconfig.get_paths()["stdlib"])
    cases = []
    for name in EDIT_FILES:
        lines = (lib / name).read_text().splitlines(keepends=True)
        cut = 150
        while cut < len(lines) and (lines[cut][:1].isspace() or not lines[cut].strip()):
            cut += 1  # end at a top-level line, not inside a function
        text = "".join(lines[:cut])
        funcs = [ln.split("(")[0][4:] for ln in text.splitlines() if ln.startswith("def ")]
        for ask in EDIT_ASKS:
            if not funcs and "{name}" in ask:
                continue
            f = funcs[0] if funcs else ""
            q = ask.format(rel=name, name=f, new=f"{f}_renamed")
            system = chat_prompts.system_text(None, [(name, text)])
            cases.append({"case": "edit", "id": f"{name}:{q[:24]}", "messages": chat_prompts.messages(system, [], q)})
    return cases[:n]


def _failure(item: dict) -> str:
    code = item["prompt"] + item["buggy_solution"] + "\n\n" + item["test"]
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip()[-1500:] or f"exit status {r.returncode}"
    except subprocess.TimeoutExpired:
        return "the check timed out"


def fix_cases(n: int) -> list[dict]:
    from coder_cli.core.fix_prompts import FIX_SYSTEM, fix_request

    items = [json.loads(line) for line in (DATA / "humanevalpack_python.jsonl").open()]
    cases = []
    for item in items[:: max(1, len(items) // max(n, 1))][:n]:
        unit = item["prompt"] + item["buggy_solution"]
        failure = _failure(item)
        ask = fix_request(
            check="python -m pytest test_task.py",
            digest=failure.splitlines()[-1] if failure else "the test fails",
            failure=failure,
            unit_kind="function",
            unit_name=item["entry_point"],
            rel="task.py",
            lang="python",
            unit_text=unit,
            first_line=1,
            test_source=item["test"],
            related=[],
            repo_map=None,
        )
        messages = [{"role": "system", "content": FIX_SYSTEM}, {"role": "user", "content": ask}]
        cases.append({"case": "fix", "id": item["task_id"], "messages": messages})
    return cases


def review_cases(n: int) -> list[dict]:
    from hooks import sample_commits

    return [{"case": kind, "id": sha[:10], "sha": sha} for kind in ("review", "commit") for sha in sample_commits(n)]


def free_cases(n: int) -> list[dict]:
    from coder_cli.core.ask_prompts import ASK_SYSTEM

    with gzip.open(DATA / "HumanEval.jsonl.gz", "rt") as fh:
        items = [json.loads(line) for line in fh]
    cases = []
    for k, item in enumerate(items[: n // 2]):
        q = (
            EXPLAIN[k % 2].format(name=item["entry_point"])
            + "\n\n```python\n"
            + item["prompt"]
            + item["canonical_solution"]
            + "```"
        )
        cases.append({"case": "free", "id": f"explain {item['task_id']}", "messages": _ask(ASK_SYSTEM, q)})
    for item in items[100 : 100 + n - n // 2]:
        q = (
            "Complete this Python function. Reply with the whole function in one code block.\n\n```python\n"
            + item["prompt"]
            + "```"
        )
        cases.append({"case": "free", "id": f"code {item['task_id']}", "messages": _ask(ASK_SYSTEM, q)})
    return cases


def _ask(system: str, question: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def run_one(engine, case: dict, speculate: bool, max_tokens: int) -> dict:
    from coder_cli.engine import GenParams

    engine._llm.reset()  # a cold cache for both: neither reuses the other's prompt (benchmark only)
    t0 = time.perf_counter()
    if case["case"] in ("review", "commit"):
        from coder_cli.actions.commit_msg import CommitMsgRequest, run_commit_msg
        from coder_cli.actions.git_changes import Target
        from coder_cli.actions.review import ReviewRequest, run_review
        from coder_cli.vcs import Git

        engine.speculate = speculate
        target = Target("range", f"{case['sha']}^..{case['sha']}")
        if case["case"] == "review":
            result = run_review(ReviewRequest(target), Git(REPO, {}), lambda: engine)
        else:
            result = run_commit_msg(CommitMsgRequest(target), Git(REPO, {}), lambda: engine)
        text, stats = result.reply, result.stats
    else:
        params = GenParams(max_tokens=max_tokens, temperature=0.0, speculate=speculate)
        gen = engine.chat(case["messages"], params)
        text, stats = gen.text(), gen.stats
    wall = time.perf_counter() - t0
    return {
        "text": text,
        "tokens": stats.completion_tokens,
        "generate_s": stats.generate_s,
        "wall_s": wall,
        "drafted": stats.drafted_tokens,
        "accepted": stats.accepted_tokens,
        "drafts": stats.drafts,
    }


def first_difference(engine, case: dict, a: str, b: str) -> dict | None:
    """Where plain (A) and speculative (B) replies part, and whether the two tokens there trade
    places with the size of the batch that computes the position: the prompt and the common prefix
    decoded with the last n tokens in one batch (n = 1, 4, 16, as a verify step does), and the two
    tokens' log-probabilities read off its last row. A winner that flips with n is the batch
    rounding the logits differently (a near tie), not a wrong draft kept."""
    if a == b or case["case"] in ("review", "commit"):
        return None
    ta, tb = engine.tokenize(a), engine.tokenize(b)
    k = next((i for i, (x, y) in enumerate(zip(ta, tb, strict=False)) if x != y), min(len(ta), len(tb)))
    if k >= len(ta) or k >= len(tb):
        return {"at": k, "note": "one reply is a prefix of the other"}
    full = engine.chat_prompt(case["messages"]) + ta[:k]
    rated = {n: _rate_at_end(engine, full, n, (ta[k], tb[k])) for n in BATCHES}
    winners = {lp[0] >= lp[1] for lp in rated.values()}
    gap = min(abs(lp[0] - lp[1]) for lp in rated.values())
    return {
        "at": k,
        "plain": engine.detokenize([ta[k]]),
        "speculative": engine.detokenize([tb[k]]),
        "logprobs": {n: [round(x, 4) for x in lp] for n, lp in rated.items()},
        "gap": round(gap, 4),
        "near_tie": len(winners) == 2 or not winners.pop() or gap < NEAR_TIE,
    }


BATCHES = (1, 4, 16)
RSS_CTX = 8192
# Two tokens this close (log-probability) trade places with how the earlier positions' keys and
# values were batched (serve against in-process shows the same): a near tie, not a kept wrong draft.
NEAR_TIE = 0.25


def _rate_at_end(engine, tokens: list[int], n: int, probes: tuple[int, int]) -> tuple[float, float]:
    """Log-probabilities of PROBES after TOKENS, with the last N tokens decoded in one batch."""
    import numpy as np

    llm = engine._llm
    ctx, batch, n_vocab = llm._ctx, llm._batch, llm.n_vocab()
    head = len(tokens) - n
    engine.read_prompt(tokens[:head], 0)
    batch.set_batch(batch=tokens[head:], n_past=head, logits_all=True)
    ctx.decode(batch)
    row = np.ctypeslib.as_array(ctx.get_logits(), shape=(n, n_vocab))[-1].astype(np.float64)
    top = row.max()
    lse = top + np.log(np.exp(row - top).sum())
    llm.reset()
    ctx.kv_cache_seq_rm(-1, 0, -1)
    return float(row[probes[0]] - lse), float(row[probes[1]] - lse)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--edits", type=int, default=6)
    ap.add_argument("--fix", type=int, default=20)
    ap.add_argument("--review", type=int, default=5)
    ap.add_argument("--free", type=int, default=10)
    ap.add_argument("--max-tokens", type=int, default=1024)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--rss-child", choices=("plain", "speculative"), help=argparse.SUPPRESS)
    args = ap.parse_args()

    from coder_cli import manifest
    from coder_cli.engine.llama import LlamaEngine

    work = Path(tempfile.mkdtemp(prefix="coder-speculate-"))
    path = store_path(work / "home", args.model)
    if args.rss_child:
        engine = LlamaEngine(str(path), args.model, n_ctx=RSS_CTX, prompt_format=manifest.default().prompt)
        run_one(engine, edit_cases(1)[0], args.rss_child == "speculative", args.max_tokens)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
        return
    rss = {
        mode: int(
            subprocess.run(
                [sys.executable, __file__, "--model", args.model, "--max-tokens", "400", "--rss-child", mode],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()[-1]
        )
        for mode in ("plain", "speculative")
    }
    cases = edit_cases(args.edits) + fix_cases(args.fix) + review_cases(args.review) + free_cases(args.free)
    engine = LlamaEngine(str(path), args.model, prompt_format=manifest.default().prompt)
    out = args.out.open("w") if args.out else None
    rows = []
    for n, case in enumerate(cases):
        order = (False, True) if n % 2 == 0 else (True, False)
        runs = {s: run_one(engine, case, s, args.max_tokens) for s in order}
        plain, spec = runs[False], runs[True]
        row = {
            "case": case["case"],
            "id": case["id"],
            "plain": {k: v for k, v in plain.items() if k != "text"},
            "speculative": {k: v for k, v in spec.items() if k != "text"},
            "identical": plain["text"] == spec["text"],
        }
        row["difference"] = first_difference(engine, case, plain["text"], spec["text"])
        rows.append(row)
        if out:
            out.write(json.dumps(row) + "\n")
            out.flush()
        rate = lambda r: r["tokens"] / r["generate_s"] if r["generate_s"] else 0.0  # noqa: E731
        print(
            f"[{n + 1}/{len(cases)}] {case['case']} {case['id']}: {plain['tokens']} tokens, "
            f"{rate(plain):.1f} -> {rate(spec):.1f} tok/s, {'same' if row['identical'] else 'DIFFERENT'}",
            file=sys.stderr,
            flush=True,
        )
    learned = dict(sorted(engine._pacer.costs.ratios.items()))
    costs = verify_costs(engine)
    engine.close()
    print(f"machine: {machine()}")
    print(f"model: {path.name}, 2 threads unless the machine has fewer cores; {len(rows)} replies, each twice\n")
    print(report(rows))
    print(
        f"\nPeak RSS, one chat edit at a {RSS_CTX:,}-token context, each in its own process: plain "
        f"{rss['plain'] / 1024:.0f} MiB, speculative {rss['speculative'] / 1024:.0f} MiB "
        f"({rss['speculative'] / rss['plain']:.3f}x)"
    )
    print("\nA verify batch of n tokens (n logits), in single decodes at the same depth (median of 5):\n")
    print(table(["context", *(f"n={n}" for n in VERIFY_SIZES)], costs))
    if learned:
        seen = ", ".join(f"{n}: {r:.2f}" for n, r in learned.items())
        print(f"\nAs the engine timed them during the run (batch size: single decodes): {seen}")


VERIFY_SIZES = (1, 2, 4, 8, 12, 16)


def verify_costs(engine) -> list[list[str]]:
    """What one llama_decode of n tokens with n logits costs against one of a single token, after a
    prompt of 1,000 and 3,000 tokens (a stdlib file): the number that decides whether drafts pay."""
    import numpy as np

    llm = engine._llm
    ctx, batch, n_vocab = llm._ctx, llm._batch, llm.n_vocab()
    lib = Path(sysconfig.get_paths()["stdlib"])
    toks = engine.tokenize((lib / "textwrap.py").read_text() + (lib / "shlex.py").read_text())
    rows = []
    for depth in (1000, 3000):
        engine.read_prompt(toks[:depth], 0)
        secs = {}
        for n in VERIFY_SIZES:
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                batch.set_batch(batch=toks[depth : depth + n], n_past=depth, logits_all=True)
                ctx.decode(batch)
                np.ctypeslib.as_array(ctx.get_logits(), shape=(n, n_vocab)).argmax(axis=1)
                times.append(time.perf_counter() - t0)
                ctx.kv_cache_seq_rm(-1, depth, -1)
            secs[n] = sorted(times)[2]
        rows.append([f"{depth} tokens", *(f"{secs[n] / secs[1]:.2f} ({secs[n] * 1000:.0f} ms)" for n in VERIFY_SIZES)])
    llm.reset()
    ctx.kv_cache_seq_rm(-1, 0, -1)
    return rows


def report(rows: list[dict]) -> str:
    body = []
    for case in ("edit", "fix", "review", "commit", "free", "all"):
        mine = [r for r in rows if case in ("all", r["case"])]
        if not mine:
            continue
        p = {k: sum(r["plain"][k] for r in mine) for k in ("tokens", "generate_s", "wall_s")}
        s = {
            k: sum(r["speculative"][k] for r in mine) for k in ("tokens", "generate_s", "wall_s", "drafted", "accepted", "drafts")
        }
        tps_p = p["tokens"] / p["generate_s"] if p["generate_s"] else 0.0
        tps_s = s["tokens"] / s["generate_s"] if s["generate_s"] else 0.0
        diffs = [r["difference"] for r in mine if not r["identical"]]
        ties = sum(1 for d in diffs if d and d.get("near_tie"))
        unrated = sum(1 for d in diffs if d is None)
        body.append(
            [
                case,
                str(len(mine)),
                f"{tps_p:.1f}",
                f"{tps_s:.1f}",
                f"{tps_s / tps_p:.2f}x" if tps_p else "-",
                f"{s['wall_s'] / p['wall_s']:.2f}x" if p["wall_s"] else "-",
                f"{s['accepted'] / s['drafted']:.0%}" if s["drafted"] else "-",
                f"{s['accepted'] / s['drafts']:.1f}" if s["drafts"] else "-",
                f"{sum(r['identical'] for r in mine)}/{len(mine)}"
                + (f" ({ties} near ties" + (f", {unrated} not rated" if unrated else "") + ")" if diffs else ""),
            ]
        )
    headers = ["case", "replies", "plain tok/s", "speculative tok/s", "ratio", "wall", "accepted", "mean accepted", "identical"]
    return table(headers, body)


if __name__ == "__main__":
    main()
