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
    probe: Annotated[
        bool,
        typer.Option(
            "--probe/--no-probe",
            help="Load the model and decode in a child process; if it crashes or hangs, find safer settings that work.",
        ),
    ] = True,
    probe_timeout: Annotated[
        float, typer.Option("--probe-timeout", help="Seconds before a probe that does not answer is killed.", min=1)
    ] = 60.0,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Write the settings the probe found to the user config without asking.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    engine: dict | None = None,
) -> int:
    """Report the llama.cpp build, offload, threads, memory, store and models; check that the model
    loads and decodes (in a child process, trying safer settings when it crashes); measure speed.

    Exit 0 when the model works (as configured, or with settings written to the config now),
    1 when it works only with settings not written (or written but overridden by the project,
    the environment or a flag), 3 when nothing works.
    """
    from coder_cli.actions.doctor import measure_with, system_report

    rt = runtime(ctx, **engine)
    code = 0
    report = system_report(rt.settings, rt.store)
    if probe:
        code = _probe(rt, report, probe_timeout, yes, quiet=as_json)
    if bench and code != 3:
        report["measurement"] = measure_with(lambda: rt.load_engine(use_server=False))
    report["server"] = _server(rt)
    if as_json:
        rt.env.stdout.write(json.dumps(report, indent=2) + "\n")
        return code
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
        f"extra bufts  {r['extra_bufts']['why']}",
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
    lines += _probe_lines(r.get("probe"))
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
    return code


def _probe(rt, report: dict, timeout: float, yes: bool, quiet: bool) -> int:
    """Run the probe ladder; record it in REPORT; offer to keep what works. The exit code."""
    from coder_cli import config
    from coder_cli.actions.doctor import probe
    from coder_cli.errors import ModelError
    from coder_cli.ui.confirm import can_ask, confirm

    def progress(i: int, n: int, label: str, attempt) -> None:
        if quiet:
            return
        if attempt is None:
            rt.diag.note(f"probe {i}/{n}: {label}…")
        elif not attempt.ok:
            rt.diag.note(f"probe {i}/{n}: {label}: {attempt.outcome} ({attempt.detail})")

    try:
        found = probe(rt.settings, rt.store, report, timeout, progress, rt.env.environ)
    except ModelError as exc:
        report["probe"] = {"skipped": f"{exc.message} ({exc.hint})" if exc.hint else exc.message}
        return 0
    report["probe"] = found.as_dict()
    working = found.working
    if working is None:
        rt.diag.error(
            "the model crashed, hung or failed with every setting the probe tried",
            "see the probe lines above; `coder doctor --json` has the details",
        )
        return 3
    if not working.changes:
        return 0
    origins = {key: rt.settings.origins[key] for key in working.changes}
    # Later steps of this run (the speed measurement) use what works.
    for key, value in working.changes.items():
        rt.settings.values[key] = value
        rt.settings.origins[key] = "probe"
    keep = ", ".join(f"{k} = {config.format_value(v)}" for k, v in working.changes.items())
    target = rt.home / config.USER_FILE
    if not yes and not (can_ask(rt.env) and confirm(rt.env, f"write {keep} to {target}?")):
        report["probe"]["written"] = None
        rt.diag.warn(
            f"the model works here only with {keep}; not written. Keep it with "
            + " && ".join(f"coder config set {k} {config.format_value(v).strip(chr(34))}" for k, v in working.changes.items())
            + " (or `coder doctor --yes`)"
        )
        return 1
    for key, value in working.changes.items():
        config.set_user_value(rt.home, key, value)
    report["probe"]["written"] = str(target)
    rt.diag.note(f"wrote {keep} to {target}")
    overridden = {key: origin for key, origin in origins.items() if origin not in ("default", str(target))}
    for key, origin in overridden.items():
        rt.diag.warn(f"{key} is also set by {origin}, which comes before {target}: change it there too")
    return 1 if overridden else 0


def _probe_lines(p: dict | None) -> list[str]:
    from coder_cli.config import format_value

    if not p:
        return []
    if "skipped" in p:
        return [f"probe        skipped: {p['skipped']}"]
    lines = []
    for i, a in enumerate(p["attempts"]):
        lines.append(f"{'probe' if i == 0 else '':<13}{a['label']}: {a['outcome']} ({a['detail']})")
    if p["working_changes"]:
        keep = ", ".join(f"{k} = {format_value(v)}" for k, v in p["working_changes"].items())
        where = f"written to {p['written']}" if p.get("written") else "not written"
        lines.append(f"{'':<13}works with {keep} ({where})")
    return lines


def _server(rt) -> dict:
    """Whether commands would use a running `coder serve`, and which."""
    from coder_cli.engine.server_record import describe_server

    if rt.settings.backend == "openai":
        return {"url": None, "why": f"none: backend openai at {rt.settings.base_url}"}
    return describe_server(rt.home, rt.env.environ)
