"""`coder chat`: time to first token as the conversation grows, the first question with pre-warm,
and memory over 50 turns. The real ChatSession and engine, in process, as the REPL runs them.

1. Growth. Time to first token (TTFT) of a turn with an empty context (system prompt and the
   question, engine cache cleared) against a turn asked after real turns have filled the
   conversation with about 3,000 tokens. Both without pre-warm: this is prefix reuse alone
   (a new turn reads only the end of the last reply and the question). Median of 3 each.
2. First question. A session on this repository with files and the repo map in context
   (about 2,000 tokens), the question asked 10 s after the session opened (typing time):
   with pre-warm (the REPL's default) and without. Median of 3 each, cache cleared each time.
   While the user "types", the main thread wakes every 10 ms and records how late it woke:
   the wait a keystroke would see while pre-warm reads in its thread.
3. Memory. RSS after the first of 50 short turns and after the 50th (pre-warm between turns).

Usage: python benchmarks/chat.py [--model default] [--typing 10] [--turns 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, machine, median, store_path, table  # noqa: E402

QUESTION = "In one short sentence: what does a Python dict map?"
LONG_QUESTIONS = [  # "Write …" requests: after a long answer the 0.5B model echoes "Explain …" questions back
    "Write a Python class Stack with push, pop, peek and is_empty, with docstrings and an example.",
    "Now write a Python class Queue with enqueue, dequeue and size, with docstrings and an example.",
    "Write a Python function that parses a CSV file into a list of dicts, with error handling and an example.",
    "Write a Python function that merges two sorted lists, with tests.",
    "Write a Python class BankAccount with deposit, withdraw and balance, raising errors on bad input.",
    "Write a Python function that counts word frequencies in a text file, with an example.",
    "Write a Python LRU cache class with get and put, with docstrings and an example.",
    "Write a Python function that validates an email address with a regular expression, with tests.",
    "Write a Python class Matrix with add, multiply and transpose, with an example.",
    "Write a Python function that flattens nested lists, with tests.",
    "Write a Python class Graph with add_edge and breadth-first search, with an example.",
    "Write a Python function that formats a duration in seconds as text, with tests.",
    "Write a Python class Inventory with add_item, remove_item and total_value, with an example.",
    "Write a Python function that finds the longest common prefix of a list of strings, with tests.",
]
CONTEXT_FILES = ["coder_cli/core/prompts.py", "coder_cli/ui/confirm.py"]  # with the map: about 2,000 tokens


def load(model: str, home: Path):
    from coder_cli import config
    from coder_cli.engine.select import load_engine
    from coder_cli.model_store import Store

    environ = {"CODER_HOME": str(home)}
    settings = config.load(home, REPO, environ, {"model": model})
    return load_engine(settings, Store(home, environ=environ))


def session(engine, home: Path, root: Path, *, map_budget: int, prewarm: bool, reply_tokens: int = 1024):
    from coder_cli.actions.chat import ChatSession
    from coder_cli.actions.chat_sessions import SessionData

    return ChatSession(
        root, home, lambda m: engine, reply_tokens=reply_tokens, map_budget=map_budget, data=SessionData("bench"), prewarm=prewarm
    )


def clear_cache(engine) -> None:
    """Leave the engine's cache holding one unrelated token: the next prompt is read from its start."""
    engine.prefill(engine.tokenize("§"))


def ttft(s, question: str) -> tuple[float, object]:
    """Seconds from asking to the first piece of the reply, and the turn's result."""
    t0 = time.perf_counter()
    first: list[float] = []

    def emit(piece: str) -> None:
        if not first:
            first.append(time.perf_counter() - t0)

    result = s.ask(question, emit)
    return (first[0] if first else float("nan")), result


def typing_lag(until: float, tick: float = 0.01) -> list[float]:
    """Wake every TICK seconds until UNTIL, as a prompt's event loop does, and return how late each
    wake-up was: what a keystroke would wait for while pre-warm runs in its thread."""
    lags = []
    while (now := time.perf_counter()) < until:
        time.sleep(tick)
        lags.append(time.perf_counter() - now - tick)
    return lags


def growth(engine, home: Path, root: Path, repeat: int, target: int) -> list[list[str]]:
    empty = []
    for _ in range(repeat):
        s = session(engine, home, root, map_budget=0, prewarm=False)
        clear_cache(engine)
        t, r = ttft(s, QUESTION)
        empty.append((t, r.stats.prompt_tokens, r.stats.prompt_tokens - r.stats.cached_tokens))
    s = session(engine, home, root, map_budget=0, prewarm=False, reply_tokens=450)
    for q in LONG_QUESTIONS:
        s.ask(q, lambda piece: None)
        size = s.budget().parts[-1][1]
        print(f"  conversation: {len(s.data.turns)} turns, {size:,} tokens", file=sys.stderr, flush=True)
        if size >= target:
            break
    grown = []
    for _ in range(repeat):
        size = s.budget().parts[-1][1]
        t, r = ttft(s, QUESTION)
        grown.append((t, r.stats.prompt_tokens, r.stats.prompt_tokens - r.stats.cached_tokens, size))
    e, g = median([x[0] for x in empty]), median([x[0] for x in grown])
    return [
        ["empty context", f"{e:.3f}", f"{empty[0][1]:,}", f"{median([x[2] for x in empty]):.0f}", "1.00"],
        [
            f"after {median([x[3] for x in grown]):,.0f} conversation tokens",
            f"{g:.3f}",
            f"{grown[0][1]:,}",
            f"{median([x[2] for x in grown]):.0f}",
            f"{g / e:.2f}",
        ],
    ]


def first_question(engine, home: Path, root: Path, repeat: int, typing: float, map_budget: int) -> list[list[str]]:
    rows = []
    for prewarm in (True, False):
        times, known, read, warm_s, lags = [], 0, [], [], []
        for _ in range(repeat):
            clear_cache(engine)
            s = session(engine, home, root, map_budget=map_budget, prewarm=prewarm)
            t_open = time.perf_counter()
            for rel in CONTEXT_FILES:
                s.add(rel, root)
            known = len(s.known_tokens())
            s.start_prewarm()
            lags.extend(typing_lag(t_open + typing))  # the user types while pre-warm reads
            t, r = ttft(s, QUESTION)
            times.append(t)
            read.append(r.stats.prompt_tokens - r.stats.cached_tokens)
            warm_s.append(s.prewarm.seconds)
        label = "pre-warm (default)" if prewarm else "no pre-warm"
        rows.append(
            [
                label,
                f"{median(times):.3f}",
                f"{known:,}",
                f"{median(read):.0f}",
                f"{median(warm_s):.1f}" if prewarm else "-",
                f"{sorted(lags)[int(0.99 * (len(lags) - 1))] * 1000:.1f} / {max(lags) * 1000:.1f}",
            ]
        )
    return rows


def memory(engine, home: Path, root: Path, turns: int) -> tuple[float, float, int]:
    import psutil

    proc = psutil.Process()
    s = session(engine, home, root, map_budget=512, prewarm=True, reply_tokens=48)
    s.add(CONTEXT_FILES[0], root)
    first = 0.0
    for i in range(turns):
        s.start_prewarm()
        s.ask(f"Question {i}: name one Python built-in function. One word.", lambda piece: None)
        if i == 0:
            first = proc.memory_info().rss / 2**20
    last = proc.memory_info().rss / 2**20
    s.prewarm.stop()
    return first, last, len(s.data.turns)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--typing", type=float, default=10.0, help="seconds between opening the session and asking")
    ap.add_argument("--turns", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--target", type=int, default=3000, help="conversation tokens before the growth measurement")
    ap.add_argument("--map-tokens", type=int, default=1024)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="coder-chat-bench-"))
    home = work / "home"
    store_path(home, args.model)
    engine = load(args.model, home)
    print(f"coder chat, model {engine.info.model}, {engine.info.threads} threads, context {engine.info.n_ctx:,}")
    print(f"machine: {machine()}\n")

    print("1. Time to first token as the conversation grows (no pre-warm: prefix reuse alone), median of", args.repeat)
    rows = growth(engine, home, REPO, args.repeat, args.target)
    print(table(["turn", "TTFT s", "prompt tokens", "tokens read", "ratio"], rows) + "\n")

    print(f"2. First question, {args.typing:g} s after the session opened, files + repo map in context, median of", args.repeat)
    rows = first_question(engine, home, REPO, args.repeat, args.typing, args.map_tokens)
    print(
        table(["path", "TTFT s", "known tokens", "tokens read after Enter", "pre-warm s", "wake-up lag p99 / max ms"], rows)
        + "\n"
    )

    print(f"3. Memory over {args.turns} turns")
    first, last, kept = memory(engine, home, REPO, args.turns)
    print(
        table(
            ["RSS after turn 1", f"RSS after turn {args.turns}", "growth", "turns kept"],
            [[f"{first:.0f} MB", f"{last:.0f} MB", f"{last - first:+.1f} MB", str(kept)]],
        )
    )
    engine.close()


if __name__ == "__main__":
    main()
