"""`coder map`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from coder_cli.cli.common import ModelOpt, runtime


def map_(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(help="Folder to map (default: the git root, else the current folder).")] = None,
    budget: Annotated[int, typer.Option("--budget", help="Token budget, counted with the model's tokenizer.")] = 1024,
    focus: Annotated[
        list[str] | None, typer.Option("--focus", help="A file or identifier to rank toward (repeatable).", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON: map, files, stats.")] = False,
    stats: Annotated[bool, typer.Option("--stats", help="Print files, tags, languages, time and cache hits on stderr.")] = False,
    time_budget: Annotated[float, typer.Option("--time-budget", help="Seconds a first scan may take before it stops.")] = 60.0,
    model: ModelOpt = None,
) -> int:
    """Print a map of the repository: the most relevant definitions, within a token budget.

    \b
    coder map --budget 2048
    coder map --focus src/app.py --focus parse_config
    """
    from coder_cli.actions.repomap import map_root, run_map
    from coder_cli.engine import LazyTokenizer

    rt = runtime(ctx, model=model)
    root = map_root(path, rt.env.cwd)
    tokenizer = LazyTokenizer(rt.settings, rt.store, rt.diag.warn)
    result = run_map(
        root,
        rt.home,
        budget=budget,
        focus=focus or [],
        count_tokens=tokenizer,
        tokenizer_id=tokenizer.id,
        cwd=rt.env.cwd,
        warn=rt.diag.warn,
        progress=_progress(rt),
        time_budget=time_budget,
    )
    st = result.stats
    if st.partial:
        rt.diag.warn(
            f"the first scan stopped after {time_budget:g} s: {st.files} files indexed, {st.unindexed} left; "
            "run again to index the rest"
        )
    if as_json:
        payload = {"root": str(root), "map": result.text, "files": result.files, "stats": st.as_dict()}
        rt.env.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif result.text:
        rt.env.stdout.write(result.text)
    if not result.text and not st.files:
        rt.diag.note(f"no supported source files under {root}: the map is empty")
    if stats:
        _print_stats(rt, st)
    return 0


def _progress(rt):
    if not rt.env.stderr_isatty:
        return None
    from coder_cli.ui.progress import count_bar

    return count_bar(rt.diag.console, "indexing")


def _print_stats(rt, st) -> None:
    langs = ", ".join(f"{k} {v}" for k, v in st.languages.items()) or "none"
    lines = [
        f"files      {st.files} ({langs})",
        f"tags       {st.definitions} definitions, {st.references} references",
        f"cache      {st.cache_hits} files from the cache, {st.parsed} parsed"
        + (", map from the cache" if st.map_cache_hit else ""),
        f"time       {st.seconds:.2f} s",
        f"tokens     {st.tokens}",
    ]
    if st.with_syntax_errors:
        lines.append(f"note       {st.with_syntax_errors} files have syntax errors (their valid parts are indexed)")
    for reason, paths in sorted(st.skipped.items()):
        shown = ", ".join(paths[:5]) + (f", … ({len(paths) - 5} more)" if len(paths) > 5 else "")
        lines.append(f"skipped    {len(paths)} {reason}: {shown}")
    if st.partial:
        lines.append(f"partial    {st.unindexed} files not indexed within the time budget")
    rt.env.stderr.write("\n".join(lines) + "\n")
