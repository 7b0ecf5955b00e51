"""`coder doctor`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from coder_cli.cli.common import engine_options, runtime


@engine_options(remote=False)
def doctor(
    ctx: typer.Context,
    bench: Annotated[bool, typer.Option("--bench/--no-bench", help="Measure prompt and generation speed on the model.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    engine: dict | None = None,
) -> int:
    """Report the llama.cpp build, offload, threads, memory, store and models, and measure speed."""
    from coder_cli.actions.doctor import run_doctor

    rt = runtime(ctx, **engine)
    report = run_doctor(rt.settings, rt.store, (lambda: rt.load_engine(use_server=False)) if bench else None)
    report["server"] = _server(rt)
    if as_json:
        rt.env.stdout.write(json.dumps(report, indent=2) + "\n")
        return 0
    out = rt.env.stdout
    r = report
    t = r["threads"]
    offload = "supported" if r["gpu_offload_supported"] else "not supported by this build"
    lines = [
        f"coder {r['coder']} · Python {r['python']} · {r['platform']}",
        f"llama-cpp-python {r['llama_cpp_python']}",
        f"  {r['llama_cpp_system_info']}",
        f"backend      {r['backend']} (GPU offload {offload})",
        f"gpu layers   {r['gpu_layers']['chosen']} — {r['gpu_layers']['why']}",
        f"threads      {t['chosen']} (physical cores {t['physical_cores']}, logical {t['logical_cpus']})",
        f"memory       {r['memory']['available_gb']} GB available of {r['memory']['total_gb']} GB",
        f"store        {r['store']['path']} ({r['store']['free_gb']} GB free)",
        "settings     " + ", ".join(f"{k}={v}" for k, v in r["settings"].items()),
        "models       "
        + (
            ", ".join(
                f"{m['id']} ({ {True: 'verified', False: 'BAD sha256', None: 'not verified'}[m['verified']] })"
                for m in r["models"]
            )
            or "none installed (run `coder models pull`)"
        ),
    ]
    srv = r["server"]
    if srv.get("url"):
        lines.append(
            f"server       coder serve at {srv['url']} ({srv['model']}, pid {srv['pid']}, {srv['served']} requests served): "
            "commands use it"
        )
    else:
        lines.append(f"server       {srv['why']}")
    if "measurement" in r:
        m = r["measurement"]
        e = m["engine"]
        lines += [
            f"measured     {e['model']}: load {m['load_s']} s · prompt {m['prompt_tokens_per_s']} tokens/s "
            f"({m['prompt_tokens']} tokens) · generation {m['tokens_per_s']} tokens/s ({m['generated_tokens']} tokens)",
            f"  engine: ctx {e['n_ctx']}, threads {e['threads']}, gpu layers {e['gpu_layers']} ({e['backend']}), "
            f"flash attention {'on' if e['flash_attn'] else 'off'}, KV cache {e['kv_type']}",
        ] + [f"  note: {n}" for n in e["notes"]]
    out.write("\n".join(lines) + "\n")
    return 0


def _server(rt) -> dict:
    """Whether commands would use a running `coder serve`, and which."""
    from coder_cli.engine.remote import describe_server

    if rt.settings.backend == "openai":
        return {"url": None, "why": f"none: backend openai at {rt.settings.base_url}"}
    return describe_server(rt.home, rt.env.environ)
