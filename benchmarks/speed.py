"""Speed of coder against raw llama-cpp-python, same model, threads and run.

Measures:
  * generation tokens/s through `coder ask` streamed to a pipe vs raw
    llama-cpp-python streaming the same chat prompt (target >= 0.95x);
  * prompt processing through coder's engine vs raw llama-cpp-python on the
    same tokens, cold cache (target >= 0.95x);
  * `coder --help` wall time (target <= 0.3 s);
  * `coder ask "hi"`: first token after process start (target <= 1.5 s), and the same
    with the crash guard's fork against one process (CODER_CRASH_GUARD=0);
  * assembling the model from the offline mirror, sha256 included
    (target <= 15 s, peak RSS < 200 MB).

Usage: python benchmarks/speed.py [--model default|1.5b] [--reps 3] [--gen-tokens 256]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import coder_cmd, env_with, machine, median, raw_llama, store_path, table  # noqa: E402

GEN_PROMPT = (
    "Write a Python module with twenty small utility functions for working with strings "
    "(slugify, truncate, word count and so on). Give every function a docstring."
)


def first_byte_and_stream(cmd: list[str], env: dict) -> tuple[float, float, float, bytes, str]:
    """Run CMD with stdout on a pipe: (start, first byte time, last byte time, stdout, stderr)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    first = last = None
    out = b""
    while True:
        chunk = proc.stdout.read1(65536)
        if not chunk:
            break
        now = time.perf_counter()
        first = first or now
        last = now
        out += chunk
    err = proc.stderr.read().decode()
    proc.wait()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {err}")
    return t0, first or t0, last or t0, out, err


def parse_stats(err: str) -> dict:
    # "... reply 256 tokens in 5.60 s, 45.5 tokens/s"
    line = [ln for ln in err.splitlines() if ln.startswith("model ")][-1]
    reply = line.split("reply ", 1)[1]
    tokens = int(reply.split()[0])
    tps = float(reply.rsplit(",", 1)[1].split()[0])
    return {"tokens": tokens, "tokens_per_s": tps}


def bench_generation(model_path: Path, home: Path, model: str, n: int, reps: int, threads: int) -> dict:
    from coder_cli.core.ask_prompts import ask_messages, ask_parts

    messages = ask_messages(ask_parts(GEN_PROMPT, None, [], None))
    llm = raw_llama(model_path, threads)
    raw, cli, cli_internal, raw_tokens, cli_tokens = [], [], [], [], []
    for _ in range(reps):
        llm.reset()
        first = last = None
        count = 0
        for _chunk in llm.create_chat_completion(messages=messages, max_tokens=n, temperature=0.0, stream=True):
            now = time.perf_counter()
            if _chunk["choices"][0]["delta"].get("content") is None:
                continue  # the role chunk and the final chunk carry no token
            count += 1
            first = first or now
            last = now
        raw.append((count - 1) / (last - first))
        raw_tokens.append(count)
        _, first_b, last_b, out, err = first_byte_and_stream(
            coder_cmd("ask", "--model", model, "--max-tokens", str(n), "--threads", str(threads), "--stats", GEN_PROMPT),
            env_with(home),
        )
        st = parse_stats(err)
        cli.append((st["tokens"] - 1) / (last_b - first_b))
        cli_internal.append(st["tokens_per_s"])
        cli_tokens.append(st["tokens"])
    llm.close()
    return {
        "raw": median(raw),
        "cli_pipe": median(cli),
        "cli_internal": median(cli_internal),
        "raw_tokens": raw_tokens,
        "cli_tokens": cli_tokens,
    }


def bench_prompt(model_path: Path, n_prompt: int, reps: int, threads: int) -> dict:
    from coder_cli import manifest
    from coder_cli.engine import GenParams
    from coder_cli.engine.llama import LlamaEngine

    source = (Path(__file__).resolve().parent.parent / "coder_cli" / "model_store.py").read_text()
    engine = LlamaEngine(str(model_path), "bench", n_ctx=8192, threads=threads, chat_stops=manifest.default().stop_chat)
    llm = raw_llama(model_path, threads)
    raw, eng = [], []
    for i in range(reps):
        # A different first token each repetition: nothing is reused from a cache.
        tokens = engine.tokenize(f"# repetition {i}\n{source}")[:n_prompt]
        t0 = time.perf_counter()
        llm.create_completion(tokens, max_tokens=1, temperature=0.0)
        raw.append(n_prompt / (time.perf_counter() - t0))
        gen = engine.complete(tokens, GenParams(max_tokens=1))
        gen.text()
        eng.append(n_prompt / gen.stats.prompt_s)
    llm.close()
    engine.close()
    return {"raw": median(raw), "engine": median(eng)}


def bench_help(reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(coder_cmd("--help"), capture_output=True, env=env_with(None, COLUMNS="100"))
        times.append(time.perf_counter() - t0)
    return median(times)


def bench_first_token(home: Path, model: str, reps: int) -> tuple[float, float]:
    """First token of `coder ask "hi"` with the crash guard (a forked child) and without it,
    interleaved, the order swapped every repetition: (guarded, one process)."""
    guarded, single = [], []
    for i in range(reps):
        pair = [(guarded, {}), (single, {"CODER_CRASH_GUARD": "0"})]
        for times, extra in pair if i % 2 == 0 else pair[::-1]:  # neither always goes first
            t0, first, _, _, _ = first_byte_and_stream(coder_cmd("ask", "--model", model, "hi"), env_with(home, **extra))
            times.append(first - t0)
    return median(guarded), median(single)


def bench_assembly(model: str) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = subprocess.run(coder_cmd("models", "pull", model), env=env_with(Path(tmp)), capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if r.returncode != 0:
            sys.exit(f"assembly failed: {r.stderr}")
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, rss_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="default")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--gen-tokens", type=int, default=256)
    ap.add_argument("--prompt-tokens", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=0, help="0 = physical cores")
    ap.add_argument("--guard-reps", type=int, default=10, help="pairs for the crash guard row")
    ap.add_argument("--only-guard", action="store_true", help="measure only the crash guard row")
    args = ap.parse_args()
    from coder_cli.engine.llama import physical_cores

    threads = args.threads or physical_cores()
    # Assembly first, in a fresh store, before anything else has touched the process's children.
    if args.only_guard:
        home = Path(tempfile.mkdtemp(prefix="coder-bench-"))
        store_path(home, args.model)
        print(f"machine: {machine()}")
        guarded, single = bench_first_token(home, args.model, args.guard_reps)
        row = ['coder ask "hi": first token, crash guard vs one process, s', f"{guarded:.3f}", f"{single:.3f}"]
        print(f"medians of {args.guard_reps} pairs\n")
        print(table(["measure", "guarded", "one process", "ratio"], [[*row, f"{guarded / single:.3f}"]]))
        return
    asm_wall, asm_rss = bench_assembly(args.model)
    home = Path(tempfile.mkdtemp(prefix="coder-bench-"))
    model_path = store_path(home, args.model)
    print(f"machine: {machine()}")
    print(f"model: {model_path.name}, threads {threads}, {args.reps} repetitions (medians)\n")
    gen = bench_generation(model_path, home, args.model, args.gen_tokens, args.reps, threads)
    pp = bench_prompt(model_path, args.prompt_tokens, args.reps, threads)
    help_s = bench_help(max(5, args.reps))
    ftt, ftt_single = bench_first_token(home, args.model, args.guard_reps)
    rows = [
        [
            "generation, tokens/s (coder ask into a pipe vs raw stream)",
            f"{gen['cli_pipe']:.1f}",
            f"{gen['raw']:.1f}",
            f"{gen['cli_pipe'] / gen['raw']:.3f}",
            ">= 0.95",
        ],
        [
            "generation, tokens/s (coder's own count)",
            f"{gen['cli_internal']:.1f}",
            f"{gen['raw']:.1f}",
            f"{gen['cli_internal'] / gen['raw']:.3f}",
            ">= 0.95",
        ],
        [
            f"prompt processing, tokens/s ({args.prompt_tokens} tokens, cold)",
            f"{pp['engine']:.1f}",
            f"{pp['raw']:.1f}",
            f"{pp['engine'] / pp['raw']:.3f}",
            ">= 0.95",
        ],
        ["coder --help, s", f"{help_s:.3f}", "", "", "<= 0.3"],
        ['coder ask "hi": first token after start, s', f"{ftt:.2f}", "", "", "<= 1.5"],
        [
            'coder ask "hi": first token, crash guard vs one process (CODER_CRASH_GUARD=0), s',
            f"{ftt:.2f}",
            f"{ftt_single:.2f}",
            f"{ftt / ftt_single:.3f}",
            "<= 1.05",
        ],
        ["assemble from mirror + sha256, s", f"{asm_wall:.2f}", "", "", "<= 15"],
        ["assemble from mirror, peak RSS, MB", f"{asm_rss:.0f}", "", "", "< 200"],
    ]
    print(table(["measure", "coder", "baseline", "ratio", "target"], rows))
    print("\nbaseline: raw llama-cpp-python in this process for the speeds; coder in one process for the crash guard row")
    print(f"\ntokens generated per run: raw {gen['raw_tokens']}, coder {gen['cli_tokens']}")


if __name__ == "__main__":
    main()
