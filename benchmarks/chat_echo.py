"""`coder chat`: how often the model answers an "Explain ..." question with the question itself.

After a long answer in the conversation the 0.5B model sometimes says an "Explain ..."
question back instead of answering it (the echo). One conversation, as the REPL runs it
(the real ChatSession and engine, in process, greedy, replies up to 450 tokens, no
repository map): ten "Write ..." requests, each followed by three "Explain ..." questions
about what was just written: 30 measured turns. A measured turn is an echo when the
reply the user is left with restates the question (`core.echo.is_echo`, the rule chat
itself uses); with the retry, an echo the retry could not mend is the turn's empty reply
with the "repeated the question" note.

Run it on two checkouts to compare (the judge is always this checkout's core/echo.py):
  python benchmarks/chat_echo.py --out after.jsonl
  PYTHONPATH=/path/to/old/checkout python benchmarks/chat_echo.py --out before.jsonl

Usage: python benchmarks/chat_echo.py [--model default] [--rounds 10] [--out FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, median, table  # noqa: E402
from chat import LONG_QUESTIONS, load, session  # noqa: E402

SUBJECTS = [
    "Stack class",
    "Queue class",
    "CSV parsing function",
    "merge function",
    "BankAccount class",
    "word frequency function",
    "LRU cache class",
    "email validation function",
    "Matrix class",
    "flatten function",
]
EXPLAIN = [
    "Explain how the {} above works.",
    "Explain what the {} above does with an empty input.",
    "Explain the time complexity of the {} above.",
]


def judge():
    """This checkout's echo rule, whichever coder_cli the run imports."""
    spec = importlib.util.spec_from_file_location("coder_echo_judge", REPO / "coder_cli" / "core" / "echo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.is_echo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--rounds", type=int, default=10, help="Write requests, each followed by 3 Explain questions")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    import coder_cli

    is_echo = judge()
    work = Path(tempfile.mkdtemp(prefix="coder-echo-"))
    home = work / "home"
    root = work / "proj"
    root.mkdir(parents=True)
    engine = load(args.model, home)
    s = session(engine, home, root, map_budget=0, prewarm=False, reply_tokens=450)
    out = args.out.open("w") if args.out else None
    rows, secs = [], []
    for i in range(args.rounds):
        s.ask(LONG_QUESTIONS[i], lambda piece: None)
        for template in EXPLAIN:
            question = template.format(SUBJECTS[i])
            t0 = time.perf_counter()
            r = s.ask(question, lambda piece: None)
            secs.append(time.perf_counter() - t0)
            retried = any("repeated the question back; asked again" in n for n in r.notes)
            gave_up = any("only repeated the question back" in n for n in r.notes)
            echo = gave_up or is_echo(question, r.reply)
            row = {"question": question, "echo": echo, "retried": retried, "reply": r.reply[:300], "s": round(secs[-1], 2)}
            rows.append(row)
            if out:
                out.write(json.dumps(row) + "\n")
                out.flush()
            print(
                f"[{len(rows)}] {'ECHO' if echo else 'ok  '} {'(retried) ' if retried else ''}{question}",
                file=sys.stderr,
                flush=True,
            )
    n = len(rows)
    echoes = sum(r["echo"] for r in rows)
    retried = sum(r["retried"] for r in rows)
    mended = sum(r["retried"] and not r["echo"] for r in rows)
    print(f"machine: {machine()}")
    print(f"model: {engine.info.model}; coder_cli from {Path(coder_cli.__file__).parent.parent}\n")
    print(
        table(
            ["measured turns", "echoes left", "echo rate", "retried", "mended by the retry", "median s per turn"],
            [[str(n), str(echoes), f"{100 * echoes / n:.0f}%", str(retried), str(mended), f"{median(secs):.1f}"]],
        )
    )


if __name__ == "__main__":
    main()
