"""`coder doctor`: what this machine and this llama.cpp build can do, measured."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from collections.abc import Callable

from coder_cli import __version__
from coder_cli.engine import Engine, GenParams

# A fixed prompt of real code so the measurement is repeatable.
_BENCH_CODE = '''
def merge_intervals(intervals):
    """Merge overlapping [start, end] intervals and return them sorted."""
    result = []
    for start, end in sorted(intervals):
        if result and start <= result[-1][1]:
            result[-1][1] = max(result[-1][1], end)
        else:
            result.append([start, end])
    return result
'''


def system_report(settings, store) -> dict:
    import psutil

    from coder_cli.actions.models import status_row, statuses
    from coder_cli.engine.llama import gpu_backend, physical_cores, system_info

    try:
        from importlib.metadata import version

        llama_version = version("llama-cpp-python")
    except Exception:  # noqa: BLE001 - a report must not fail on metadata
        llama_version = "unknown"
    from coder_cli.engine.native import decide_extra_bufts

    info = system_info()
    supported, backend = gpu_backend(info)
    bufts = decide_extra_bufts(settings.extra_bufts, info)
    mem = psutil.virtual_memory()
    store.dir.mkdir(parents=True, exist_ok=True)
    disk = shutil.disk_usage(store.dir)
    gl = settings.gpu_layers
    return {
        "coder": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "llama_cpp_python": llama_version,
        "llama_cpp_system_info": info.strip(" |"),
        "gpu_offload_supported": supported,
        "backend": backend,
        "gpu_layers": {
            "setting": gl,
            "chosen": (-1 if supported else 0) if gl == "auto" else gl,
            "why": ("auto: every layer on " + backend if supported else "auto: this llama.cpp build has no GPU offload, CPU only")
            if gl == "auto"
            else f"set to {gl} ({settings.origins['gpu_layers']})",
        },
        "extra_bufts": {"setting": settings.extra_bufts, "chosen": bufts.on, "why": bufts.why},
        "threads": {
            "physical_cores": physical_cores(),
            "logical_cpus": os.cpu_count(),
            "chosen": settings.threads or physical_cores(),
        },
        "memory": {"total_gb": round(mem.total / 1e9, 1), "available_gb": round(mem.available / 1e9, 1)},
        "store": {"path": str(store.dir), "free_gb": round(disk.free / 1e9, 1)},
        "settings": {k: settings.values[k] for k in ("model", "ctx", "batch", "flash_attn", "kv_type")},
        "models": [
            {k: r[k] for k in ("id", "installed", "verified", "size")} for r in map(status_row, statuses(store)) if r["installed"]
        ],
    }


def measure(engine: Engine, n_prompt: int = 256, n_gen: int = 64) -> dict:
    """Prompt processing and generation speed on this machine (greedy, cache cleared)."""
    text = _BENCH_CODE
    while engine.count_tokens(text) < n_prompt:
        text += _BENCH_CODE
    tokens = engine.tokenize(text)[:n_prompt]
    # Plain decoding: the figure is the machine's token rate, not how well this text copies itself.
    params = GenParams(max_tokens=n_gen, temperature=0.0, speculate=False)
    gen = engine.complete(tokens, params)
    for _ in gen:
        pass
    st = gen.stats
    return {
        "prompt_tokens": st.prompt_tokens - st.cached_tokens,
        "prompt_tokens_per_s": round(st.prompt_tokens_per_s, 1),
        "generated_tokens": st.completion_tokens,
        "tokens_per_s": round(st.tokens_per_s, 1),
        "load_s": round(engine.info.load_s, 2),
        "engine": {
            "model": engine.info.model,
            "n_ctx": engine.info.n_ctx,
            "threads": engine.info.threads,
            "gpu_layers": engine.info.gpu_layers,
            "backend": engine.info.backend,
            "flash_attn": engine.info.flash_attn,
            "kv_type": engine.info.kv_type,
            "notes": engine.info.notes,
        },
    }


def resolved_load(settings, report: dict) -> dict:
    """What SETTINGS amount to on this build, read from its system REPORT: extra_bufts,
    flash_attn, gpu_layers (0 on a build without offload), threads."""
    return {
        "extra_bufts": report["extra_bufts"]["chosen"],
        "flash_attn": bool(settings.flash_attn),
        "gpu_layers": report["gpu_layers"]["chosen"] if report["gpu_offload_supported"] else 0,
        "threads": report["threads"]["chosen"],
    }


def probe(settings, store, report: dict, timeout: float, progress=None, environ=None):
    """The self-check of actions/probe.py on the configured model (REPORT: system_report's, for
    what the settings amount to on this build); raises ModelError when there is no model."""
    from coder_cli.actions.probe import child_attempt, run_ladder

    model = store.resolve(settings.model)
    load = {
        "path": os.path.abspath(model.path),
        "ctx": min(settings.ctx, model.manifest.context_length) if model.manifest else settings.ctx,
        "batch": settings.batch,
        "kv_type": settings.kv_type,
        "gpu_layers": settings.gpu_layers,
        "threads": settings.threads,
        "flash_attn": settings.flash_attn,
        "extra_bufts": settings.extra_bufts,
    }
    return run_ladder(resolved_load(settings, report), child_attempt(load, timeout, environ), progress)


def measure_with(load: Callable[[], Engine]) -> dict:
    """Load an engine, measure it, close it."""
    engine = load()
    try:
        return measure(engine)
    finally:
        engine.close()
