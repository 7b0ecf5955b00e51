"""`coder chat` driven from a script, Aider-style: instructions + a stub file + tests, two tries.

The practice set is benchmarks/practice/ (20 small exercises written for this project:
instructions.md, a stub NAME.py, test_NAME.py; the tests pass with a reference solution that is
not in the repository, and fail with the stub). Each exercise is copied into a fresh git
repository and sent as one message:

    coder chat NAME.py --message-file prompt.md --test "python -m pytest -q test_NAME.py" --yes

(greedy, --no-prewarm). Try 1: the check passes after the first turn's change. Try 2: after the
one more turn `--test` gives a failing check, with its output (Aider's second try). The
exercise passes when its tests pass at the end.

Baseline, same model, same run: the model asked once. llama-cpp-python's chat completion with
the same prompt and the stub in a fence, greedy, and the first Python code block of the reply
written as the file (the whole file: the format small models manage best).

The published Aider figures for these models (Qwen2.5-Coder technical report: 0.5B-Instruct
14.3%, 1.5B-Instruct 28.6%) are on Aider's 133 Exercism exercises, not on this set.

Usage: python benchmarks/chat_practice.py [--model default] [--only NAME,...] [--out FILE.jsonl]
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import coder_cmd, commit_all, env_with, machine, median, raw_llama, store_path, table  # noqa: E402

PRACTICE = Path(__file__).resolve().parent / "practice"
TIMEOUT = 900
ASK = (
    "{instructions}\n"
    "Use the instructions above to change {stub}. Keep the names of the functions and classes that are "
    "already there: the tests call them. Use only the Python standard library."
)


def exercises(only: str) -> list[Path]:
    found = sorted(p for p in PRACTICE.iterdir() if (p / "instructions.md").is_file())
    if only:
        names = set(only.split(","))
        found = [p for p in found if p.name in names]
    return found


def workspace(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True)
    for name in (f"{src.name}.py", f"test_{src.name}.py"):
        shutil.copy(src / name, dst / name)
    commit_all(dst, "stub")


def check(repo: Path, name: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"test_{name}.py"]


def passes(repo: Path, name: str) -> bool:
    try:
        return subprocess.run(check(repo, name), cwd=repo, capture_output=True, timeout=120).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def prompt(src: Path) -> str:
    return ASK.format(instructions=(src / "instructions.md").read_text(), stub=f"{src.name}.py")


def run_coder(src: Path, repo: Path, home: Path, model: str) -> dict:
    (repo / ".git" / "prompt.md").write_text(prompt(src))  # inside .git: not a file of the project
    test = shlex.join(check(repo, src.name))
    args = ["chat", f"{src.name}.py", "--message-file", ".git/prompt.md", "--test", test, "--yes"]
    args += ["--model", model, "--temperature", "0", "--no-prewarm"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(coder_cmd(*args), cwd=repo, env=env_with(home), capture_output=True, text=True, timeout=TIMEOUT)
        code, err, out = proc.returncode, proc.stderr, proc.stdout
    except subprocess.TimeoutExpired:
        code, err, out = 124, "(timed out)", ""
    seconds = time.perf_counter() - t0
    final = passes(repo, src.name)
    first = final and "one more turn" not in err
    return {"try1": first, "try2": final, "exit": code, "s": round(seconds, 1), "stderr": err[-2000:], "stdout": out[-6000:]}


def run_once(llm, src: Path, repo: Path) -> dict:
    stub = (src / f"{src.name}.py").read_text()
    text = f"{prompt(src)}\n\n{src.name}.py\n```python\n{stub}```\n\nReply with the whole new {src.name}.py in one code block."
    t0 = time.perf_counter()
    out = llm.create_chat_completion(messages=[{"role": "user", "content": text}], temperature=0.0, max_tokens=1536, seed=0)
    reply = out["choices"][0]["message"]["content"]
    m = re.search(r"```(?:python|py)?\n(.*?)```", reply, re.S)
    if m:
        (repo / f"{src.name}.py").write_text(m.group(1))
    return {"pass": bool(m) and passes(repo, src.name), "s": round(time.perf_counter() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--only", default="", help="comma-separated exercise names")
    ap.add_argument("--paths", default="coder,once")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coder-practice-"))
    home = work / "home"
    model_path = store_path(home, args.model)
    todo = exercises(args.only)
    rows = []
    t_start = time.perf_counter()
    if "coder" in args.paths:
        for n, src in enumerate(todo, 1):
            workspace(src, work / "coder" / src.name)
            r = run_coder(src, work / "coder" / src.name, home, args.model)
            rows.append({"exercise": src.name, "coder": r})
            print(
                f"[{n}/{len(todo)}] {src.name}: coder try1={r['try1']} try2={r['try2']} exit={r['exit']} {r['s']} s",
                file=sys.stderr,
                flush=True,
            )
    else:
        rows = [{"exercise": src.name} for src in todo]
    if "once" in args.paths:
        llm = raw_llama(model_path)
        for n, (src, row) in enumerate(zip(todo, rows, strict=True), 1):
            workspace(src, work / "once" / src.name)
            row["once"] = run_once(llm, src, work / "once" / src.name)
            print(
                f"[{n}/{len(todo)}] {src.name}: asked once pass={row['once']['pass']} {row['once']['s']} s",
                file=sys.stderr,
                flush=True,
            )
    elapsed = time.perf_counter() - t_start
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    total = len(rows)
    print(f"Practice set (benchmarks/practice, {total} exercises), model {args.model}, greedy")
    print(f"machine: {machine()}; {elapsed / 60:.1f} min in all\n")
    out = []
    if "once" in args.paths:
        ok = sum(r["once"]["pass"] for r in rows)
        out.append(
            ["asked once (llama-cpp-python, whole file)", _pct(ok, total), "", f"{median([r['once']['s'] for r in rows]):.1f}"]
        )
    if "coder" in args.paths:
        one = sum(r["coder"]["try1"] for r in rows)
        two = sum(r["coder"]["try2"] for r in rows)
        secs = median([r["coder"]["s"] for r in rows])
        out.append(["coder chat --message-file --test --yes", _pct(one, total), _pct(two, total), f"{secs:.1f}"])
    print(table(["path", "pass, try 1", "pass, try 2 (test output)", "median s/exercise"], out))


def _pct(n: int, total: int) -> str:
    return f"{n}/{total} = {100 * n / total:.0f}%"


if __name__ == "__main__":
    main()
