"""HumanEval pass@1 through `coder ask -x` against the same model called directly.

Both paths get the same system prompt and the same user prompt, greedy
decoding. The direct path calls llama-cpp-python's create_chat_completion and
takes the first fenced block with a plain regex; the coder path runs the real
CLI (`coder ask -x`) in a subprocess per task, as a user would. Any gap is
what the CLI's formatting, prompt rendering and extraction lose.

Usage: python benchmarks/humaneval.py [--model default] [--limit N] [--data PATH] [--paths coder,direct]
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, coder_cmd, env_with, machine, raw_llama, store_path, table  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "HumanEval.jsonl.gz"
INSTRUCTION = "Complete the following Python function. Reply with the complete function in one Python code block.\n\n"


def load(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh]


def user_prompt(task: dict) -> str:
    return INSTRUCTION + "```python\n" + task["prompt"] + "```"


def program(task: dict, code: str) -> str:
    """The code to test: the reply's code, with the task's prompt in front when the reply lacks the def."""
    if not re.search(rf"^def\s+{re.escape(task['entry_point'])}\s*\(", code, re.M):
        code = task["prompt"] + code
    elif "import" in task["prompt"] and not code.lstrip().startswith(("import", "from")):
        # Keep the prompt's imports (typing, math) that a reply often drops.
        imports = "\n".join(ln for ln in task["prompt"].splitlines() if ln.startswith(("import ", "from ")))
        code = imports + "\n" + code
    return f"{code}\n\n{task['test']}\n\ncheck({task['entry_point']})\n"


def passes(task: dict, code: str, timeout: float = 15.0) -> bool:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(program(task, code))
    try:
        r = subprocess.run([sys.executable, fh.name], capture_output=True, timeout=timeout)
        return r.returncode == 0
    except subprocess.TimeoutExpired:
        return False
    finally:
        Path(fh.name).unlink()


def direct_code(text: str) -> str:
    m = re.search(r"```(?:python|py)?\s*\n(.*?)```", text, re.S)
    return m.group(1) if m else text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--paths", default="coder,direct")
    ap.add_argument("--max-tokens", type=int, default=768)
    ap.add_argument("--out", type=Path, default=None, help="write per-task results (JSON lines)")
    args = ap.parse_args()
    tasks = load(args.data)[: args.limit or None]
    paths = args.paths.split(",")
    home = Path(tempfile.mkdtemp(prefix="coder-humaneval-"))
    model_path = store_path(home, args.model)
    from coder_cli.core.ask_prompts import ASK_SYSTEM

    llm = None
    if "direct" in paths:
        llm = raw_llama(model_path)
    results = {p: 0 for p in paths}
    seconds = {p: 0.0 for p in paths}
    out = args.out.open("w") if args.out else None
    for i, task in enumerate(tasks, 1):
        prompt = user_prompt(task)
        row = {"task_id": task["task_id"]}
        if "coder" in paths:
            t0 = time.perf_counter()
            r = subprocess.run(
                coder_cmd("ask", "-x", "--model", args.model, "--max-tokens", str(args.max_tokens), prompt),
                env=env_with(home),
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
            )
            seconds["coder"] += time.perf_counter() - t0
            row["coder"] = r.returncode == 0 and passes(task, r.stdout)
            results["coder"] += row["coder"]
        if "direct" in paths:
            t0 = time.perf_counter()
            # Evaluate the whole prompt, as the CLI's fresh process does: reusing the previous task's
            # cached prefix changes the batching, and with it the last bits of the logits.
            llm.reset()
            reply = llm.create_chat_completion(
                messages=[{"role": "system", "content": ASK_SYSTEM}, {"role": "user", "content": prompt}],
                max_tokens=args.max_tokens,
                temperature=0.0,
            )["choices"][0]["message"]["content"]
            seconds["direct"] += time.perf_counter() - t0
            row["direct"] = passes(task, direct_code(reply))
            results["direct"] += row["direct"]
        if out:
            out.write(json.dumps(row) + "\n")
        print(
            f"[{i}/{len(tasks)}] {task['task_id']}: " + ", ".join(f"{p}={'pass' if row[p] else 'fail'}" for p in paths),
            file=sys.stderr,
            flush=True,
        )
    n = len(tasks)
    print(f"machine: {machine()}")
    print(f"model: {model_path.name}, {n} tasks, greedy, max {args.max_tokens} tokens\n")
    rows = [[p, f"{results[p]}/{n}", f"{100 * results[p] / n:.1f}", f"{seconds[p] / n:.1f}"] for p in paths]
    print(table(["path", "passed", "pass@1 %", "s/task"], rows))
    if len(paths) == 2:
        gap = 100 * (results["coder"] - results["direct"]) / n
        print(f"\ncoder - direct: {gap:+.1f} points (target: within 2)")


if __name__ == "__main__":
    main()
