"""What llama.cpp's extra (weight-repack) buffer types cost or gain, per llama.cpp build.

For each Python given (each with its own llama-cpp-python build; default: this one), loads the
model in a child process with ``use_extra_bufts`` on and off (coder's engine, engine/native.py)
and measures, llama-bench style, prompt processing (``--pp`` tokens, cold) and generation
(``--tg`` tokens after a short prompt, greedy, end-of-text ignored): medians of ``--reps``,
both settings loaded in one child and measured in alternation. A setting whose child dies (the
AMX repack crash) in a short first run is reported as such, not measured.

Usage: python benchmarks/extra_bufts.py [--python PATH ...] [--model default] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


def child(spec: dict) -> dict:
    """Load the model once per setting in SPEC["settings"] (both in this process), then measure
    them in alternation, repetition by repetition, so a machine that speeds up or slows down
    during the run (a shared VM does) affects both alike."""
    from statistics import median

    from coder_cli.engine.llama import LlamaEngine, system_info

    engines = {
        str(on): LlamaEngine(spec["path"], "bench", n_ctx=4096, threads=spec["threads"], extra_bufts=on)
        for on in spec["settings"]
    }
    source = (ROOT / "coder_cli" / "model_store.py").read_text()
    pp: dict[str, list[float]] = {k: [] for k in engines}
    tg: dict[str, list[float]] = {k: [] for k in engines}
    for i in range(spec["reps"]):
        for key, engine in engines.items():
            llm = engine._llm
            tokens = engine.tokenize(f"# repetition {i}\n{source}")[: spec["pp"]]
            llm.reset()
            t0 = time.perf_counter()
            llm.eval(tokens)
            pp[key].append(len(tokens) / (time.perf_counter() - t0))
            prompt = engine.tokenize(f"# {i}\ndef parse(text):\n")
            count, first = 0, time.perf_counter()
            for _ in llm.generate(prompt, top_k=1, temp=0.0, reset=True):
                count += 1
                if count == 1:
                    first = time.perf_counter()
                if count > spec["tg"]:
                    break
            tg[key].append(spec["tg"] / (time.perf_counter() - first))
    out = {key: {"pp": median(pp[key]), "tg": median(tg[key])} for key in engines}
    for engine in engines.values():
        engine.close()
    return {"results": out, "system_info": system_info()}


def run_child(python: str, spec: dict, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        r = subprocess.run(
            [python, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, env=env, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"no answer in {timeout:g} s"}
    if r.returncode < 0:
        return {"error": f"crashed ({signal.Signals(-r.returncode).name})"}
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def build_name(python: str) -> str:
    r = subprocess.run(
        [python, "-c", "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"],
        capture_output=True,
        text=True,
    )
    from coder_cli.engine.native import features

    f = features(r.stdout)
    flags = [k for k in ("AVX2", "AVX512", "AVX512_VNNI", "AVX_VNNI", "AMX_INT8", "NEON", "REPACK") if f.get(k) == "1"]
    return " ".join(flags) or r.stdout.strip()[:60]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--python", action="append", help="a Python with its own llama-cpp-python build (repeatable)")
    ap.add_argument("--model", default="default")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--pp", type=int, default=512)
    ap.add_argument("--tg", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="0 = physical cores")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    from _common import machine, store_path, table

    from coder_cli.engine.llama import physical_cores

    threads = args.threads or physical_cores()
    home = Path(tempfile.mkdtemp(prefix="coder-bench-"))
    path = store_path(home, args.model)
    print(f"machine: {machine()}")
    print(f"model: {path.name}, threads {threads}, pp {args.pp} / tg {args.tg} tokens, medians of {args.reps}\n")
    rows = []
    for python in args.python or [sys.executable]:
        name = build_name(python)
        base = {"path": str(path), "threads": threads}
        # First a short run per setting on its own: a setting whose child dies is reported, not measured.
        alive, dead = [], {}
        for setting in (True, False):
            check = run_child(python, {**base, "settings": [setting], "reps": 1, "pp": 32, "tg": 4}, timeout=300)
            if "error" in check:
                dead[setting] = check["error"]
            else:
                alive.append(setting)
        got = run_child(python, {**base, "settings": alive, "reps": args.reps, "pp": args.pp, "tg": args.tg}, 1800)
        results = got.get("results", {})
        for setting in (True, False):
            cells = [name, "on" if setting else "off"]
            g = results.get(str(setting))
            if g is None:
                cells += [dead.get(setting, got.get("error", "?")), "", "", ""]
            else:
                on = results.get("True")
                ratio = ("", "") if setting or on is None else (f"{g['pp'] / on['pp']:.3f}", f"{g['tg'] / on['tg']:.3f}")
                cells += [f"{g['pp']:.1f}", f"{g['tg']:.1f}", *ratio]
            rows.append(cells)
    print(table(["llama.cpp build", "extra bufts", "pp tokens/s", "tg tokens/s", "pp off/on", "tg off/on"], rows))


if __name__ == "__main__":
    main()
