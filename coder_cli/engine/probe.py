"""The load-and-decode probe that `coder doctor` runs in a child process.

``main(['{"path": ..., "gpu_layers": ..., ...}'])`` (run by actions/probe.py) loads the model with
those settings, reads a short prompt and generates a few tokens, and prints one JSON line: what
it loaded with and how long each step took. A crash or a hang in llama.cpp kills only this child;
the parent (actions/probe.py) sees the signal or the timeout and tries safer settings.
"""

from __future__ import annotations

import json
import os
import sys
import time

PROMPT = "def fibonacci(n):\n    "


def probe(settings: dict) -> dict:
    from coder_cli.engine.base import GenParams
    from coder_cli.engine.faults import ENV, Fault
    from coder_cli.engine.llama import LlamaEngine

    t0 = time.perf_counter()
    engine = LlamaEngine(
        settings["path"],
        "probe",
        n_ctx=settings.get("ctx", 2048),
        threads=settings.get("threads", 0),
        gpu_layers=settings.get("gpu_layers", "auto"),
        batch=settings.get("batch", 512),
        flash_attn=settings.get("flash_attn", True),
        kv_type=settings.get("kv_type", "f16"),
        extra_bufts=settings.get("extra_bufts", "auto"),
        fault=Fault.parse(os.environ.get(ENV)),
    )
    load_s = time.perf_counter() - t0
    gen = engine.complete(engine.tokenize(PROMPT), GenParams(max_tokens=8, temperature=0.0))
    text = gen.text()
    info = engine.info
    result = {
        "ok": True,
        "load_s": round(load_s, 3),
        "prompt_s": round(gen.stats.prompt_s, 3),
        "generate_s": round(gen.stats.generate_s, 3),
        "tokens": gen.stats.completion_tokens,
        "text": text,
        "gpu_layers": info.gpu_layers,
        "backend": info.backend,
        "threads": info.threads,
        "flash_attn": info.flash_attn,
        "extra_bufts": info.extra_bufts,
    }
    engine.close()
    return result


def main(argv: list[str]) -> int:
    from coder_cli.crash_guard import die_with_parent, report_to

    report_to(sys.stderr.fileno())
    die_with_parent(os.getppid())
    settings = json.loads(argv[0])
    try:
        result = probe(settings)
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a failed load, not a crash
        result = {"ok": False, "error": f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
