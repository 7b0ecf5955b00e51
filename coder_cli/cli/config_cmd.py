"""`coder config show`, `coder config set`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from coder_cli.cli.common import runtime

app = typer.Typer(help="Show or set the configuration.", no_args_is_help=True)


@app.command()
def show(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> int:
    """Print every setting, its value and where it came from (flag, env, file, default)."""
    from coder_cli import config

    rt = runtime(ctx)
    s = rt.settings
    values = {k: (_mask(v) if k == "api_key" and v else v) for k, v in s.values.items()}
    if as_json:
        data = {k: {"value": values[k], "from": s.origins[k]} for k in config.KEYS}
        rt.env.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    width = max(map(len, config.KEYS))
    vwidth = max(len(str(v)) for v in values.values())
    for key, _spec in config.KEYS.items():
        rt.env.stdout.write(f"{key:<{width}}  {str(values[key]):<{vwidth}}  {s.origins[key]}\n")
    rt.diag.note(f"files: {rt.home / config.USER_FILE} (user), {config.project_root(rt.env.cwd) / config.PROJECT_FILE} (project)")
    return 0


@app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="A config key (see `coder config show`).")],
    value: Annotated[str, typer.Argument(help="Its value, checked like the same key in a file.")],
) -> int:
    """Set KEY in the user config file ($CODER_HOME/config.toml), keeping its other lines."""
    from coder_cli import config
    from coder_cli.cli.common import environment
    from coder_cli.ui.console import Diagnostics

    # Not the runtime: it loads every layer, and a broken one is what this may be here to fix.
    env = environment(ctx)
    path = config.set_user_value(config.coder_home(env.environ), key, value)
    shown = _mask(value) if key == "api_key" else config.format_value(config.KEYS[key].parse(value))
    Diagnostics(env).note(f"{key} = {shown} in {path}")
    return 0


def _mask(key: str) -> str:
    """Never print a secret: its last 4 characters only when it is long enough to keep the rest."""
    return "****" + key[-4:] if len(key) >= 16 else "****"
