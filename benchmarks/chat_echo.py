"""`coder chat`: how often the model answers an "Explain ..." question with the question itself.

Once the conversation holds a long answer the 0.5B model sometimes says an "Explain ..."
question back instead of answering it (the echo; first seen building the long conversation
of benchmarks/chat.py from "Explain ..." questions). One conversation, as the REPL runs it
(the real ChatSession and engine, in process, greedy, replies up to 450 tokens, no
repository map), in one of two patterns:

- explain (default): 30 general "Explain ..." questions one after another, each answered
  at length (the conversation the echo was seen in);
- write-explain: ten "Write ..." requests, each followed by three "Explain ..." questions
  about what was just written.

A measured turn is an echo when the reply the user is left with restates the question
(`core.echo.is_echo`, the rule chat itself uses); with the retry, an echo the retry could
not mend is the turn's empty reply with the "repeated the question" note.

Run it on two checkouts to compare (the judge is always this checkout's core/echo.py):
  python benchmarks/chat_echo.py --out after.jsonl
  PYTHONPATH=/path/to/old/checkout python benchmarks/chat_echo.py --out before.jsonl

Usage: python benchmarks/chat_echo.py [--model default] [--pattern explain|write-explain] [--out FILE]
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
GENERAL = [  # the first twelve are the questions the echo was seen with
    "Explain Python list comprehensions with three examples.",
    "Explain how Python decorators work, with an example.",
    "Explain context managers and the with statement, with an example.",
    "Explain generators and yield in Python, with examples.",
    "Explain the difference between a process and a thread, with Python examples.",
    "Explain Python's dataclasses with an example.",
    "Explain how exceptions work in Python, with examples.",
    "Explain type hints in Python with examples.",
    "Explain how dictionaries work in Python, with examples.",
    "Explain Python's pathlib module with examples.",
    "Explain unit testing with pytest, with examples.",
    "Explain asyncio in Python with an example.",
    "Explain closures in Python, with an example.",
    "Explain the difference between a list and a tuple in Python, with examples.",
    "Explain how Python's import system finds modules, with examples.",
    "Explain f-strings and string formatting in Python, with examples.",
    "Explain Python's logging module with an example.",
    "Explain regular expressions in Python with the re module, with examples.",
    "Explain how sorting with a key function works in Python, with examples.",
    "Explain *args and **kwargs in Python, with examples.",
    "Explain Python's collections module (Counter, defaultdict, deque), with examples.",
    "Explain how to read and write JSON files in Python, with examples.",
    "Explain Python's itertools module with examples.",
    "Explain the difference between is and == in Python, with examples.",
    "Explain how virtual environments work in Python, with an example.",
    "Explain Python's property decorator with an example.",
    "Explain how the global interpreter lock affects threads in Python, with an example.",
    "Explain Python's enum module with an example.",
    "Explain how to use subprocess to run a command in Python, with examples.",
    "Explain abstract base classes in Python, with an example.",
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
    ap.add_argument("--pattern", choices=("explain", "write-explain"), default="explain")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--minutes", type=float, default=0, help="stop after this long (0: all 30 turns)")
    ap.add_argument("--summarize", type=Path, default=None, help="print the table of an earlier --out file")
    args = ap.parse_args()
    if args.summarize:
        rows = [json.loads(line) for line in args.summarize.read_text().splitlines() if line.strip()]
        print(f"from {args.summarize.name}\n")
        print(summary(rows, [r["s"] for r in rows]))
        return
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
    started = time.perf_counter()
    if args.pattern == "explain":
        questions = [(None, GENERAL)]
    else:
        questions = [(LONG_QUESTIONS[i], [t.format(SUBJECTS[i]) for t in EXPLAIN]) for i in range(len(SUBJECTS))]
    for request, explains in questions:
        if request:
            s.ask(request, lambda piece: None)
        for question in explains:
            if args.minutes and time.perf_counter() - started > 60 * args.minutes:
                break
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
    print(f"machine: {machine()}")
    print(f"model: {engine.info.model}; coder_cli from {Path(coder_cli.__file__).parent.parent}; pattern {args.pattern}\n")
    print(summary(rows, secs))


def summary(rows: list[dict], secs: list[float]) -> str:
    n = len(rows)
    echoes = sum(r["echo"] for r in rows)
    retried = sum(r["retried"] for r in rows)
    mended = sum(r["retried"] and not r["echo"] for r in rows)
    return table(
        ["measured turns", "echoes left", "echo rate", "retried", "mended by the retry", "median s per turn"],
        [[str(n), str(echoes), f"{100 * echoes / max(n, 1):.0f}%", str(retried), str(mended), f"{median(secs):.1f}"]],
    )


if __name__ == "__main__":
    main()
