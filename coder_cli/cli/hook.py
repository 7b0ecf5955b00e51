"""`coder hook install|uninstall|status`, and the hidden `coder hook run` the hook scripts call."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from coder_cli.cli.common import environment

app = typer.Typer(
    help="Git hooks: a generated commit message (prepare-commit-msg), a review of staged changes (pre-commit), "
    "the diff read ahead at git add (post-index-change).",
    no_args_is_help=True,
)

PrepareOpt = Annotated[
    bool, typer.Option("--prepare-commit-msg", help="The hook that writes a generated commit message for git's editor.")
]
PreCommitOpt = Annotated[bool, typer.Option("--pre-commit", help="The hook that reviews the staged changes.")]
PrewarmOpt = Annotated[
    bool,
    typer.Option(
        "--prewarm",
        help="post-index-change: after `git add`, a running coder serve reads the staged diff ahead of the commit.",
    ),
]


def _names(prepare: bool, pre_commit: bool, default: tuple[str, ...], prewarm: bool = False) -> tuple[str, ...]:
    flags = (("prepare-commit-msg", prepare), ("pre-commit", pre_commit), ("post-index-change", prewarm))
    picked = tuple(name for name, on in flags if on)
    return picked or default


@app.command()
def install(
    ctx: typer.Context,
    prepare: PrepareOpt = False,
    pre_commit: PreCommitOpt = False,
    prewarm: PrewarmOpt = False,
    strict: Annotated[bool, typer.Option("--strict", help="pre-commit: block the commit on an error finding.")] = False,
    conventional: Annotated[
        bool, typer.Option("--conventional", help="prepare-commit-msg: Conventional Commits messages (feat: …, fix: …).")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds a hook may take before it gives up.")] = 20.0,
    force: Annotated[
        bool, typer.Option("--force", help="Chain an existing hook even when it looks like a hook manager's (husky).")
    ] = False,
) -> int:
    """Install hooks in this repository (default: prepare-commit-msg only); settings live in the hook files.

    \b
    An existing hook is kept: it moves to NAME.coder-previous and runs first.
    A hook manager's hook (husky), which finds its work by its own name, is refused:
    add the line install prints to the manager's own hook instead.
    A hook never blocks a commit by failing (no model, timeout, crash): it prints one line
    and lets git go on. Only `--pre-commit --strict` blocks, on an error finding.
    \b
    coder hook install                          # commit messages
    coder hook install --pre-commit --strict    # a blocking review
    coder hook install --prepare-commit-msg --prewarm   # with `coder serve`: the diff read at `git add`
    """
    from coder_cli import config
    from coder_cli.actions.hooks import hooks_folder
    from coder_cli.actions.hooks import install as install_hooks
    from coder_cli.core.hooks import HookSettings
    from coder_cli.ui.console import Diagnostics

    env = environment(ctx)
    names = _names(prepare, pre_commit, ("prepare-commit-msg",), prewarm)
    settings = HookSettings(timeout, conventional, strict)
    folder = hooks_folder(env.cwd, env.environ)
    diag = Diagnostics(env)
    if folder.shared_warning():
        diag.warn(folder.shared_warning())
    # The default folder's record (CODER_HOME is read again when the hook runs): what the hook's own
    # `coder` would look at without CODER_HOME.
    record = str(config.coder_home({}) / "server.json")
    for line in install_hooks(folder.path, names, settings, sys.executable, force, record):
        diag.note(line)
    diag.note(f"hooks folder: {folder.path}")
    return 0


@app.command()
def uninstall(
    ctx: typer.Context, prepare: PrepareOpt = False, pre_commit: PreCommitOpt = False, prewarm: PrewarmOpt = False
) -> int:
    """Remove coder's hooks (default: all of them) and put back the hooks they chained, byte for byte."""
    from coder_cli.actions.hooks import hooks_folder
    from coder_cli.actions.hooks import uninstall as uninstall_hooks
    from coder_cli.core.hooks import HOOK_NAMES
    from coder_cli.ui.console import Diagnostics

    env = environment(ctx)
    folder = hooks_folder(env.cwd, env.environ)
    diag = Diagnostics(env)
    for line in uninstall_hooks(folder.path, _names(prepare, pre_commit, HOOK_NAMES, prewarm)):
        diag.note(line)
    return 0


@app.command()
def status(
    ctx: typer.Context,
    prepare: PrepareOpt = False,
    pre_commit: PreCommitOpt = False,
    prewarm: PrewarmOpt = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> int:
    """Show the hooks folder and, for each hook, whether coder's is installed, its settings and what it chains."""
    from dataclasses import asdict

    from coder_cli.actions.hooks import hook_state, hooks_folder
    from coder_cli.core.hooks import HOOK_NAMES

    env = environment(ctx)
    folder = hooks_folder(env.cwd, env.environ)
    states = [hook_state(folder.path, name) for name in _names(prepare, pre_commit, HOOK_NAMES, prewarm)]
    server = _server_line(env)
    if as_json:
        data = {
            "folder": str(folder.path),
            "core_hooks_path": folder.hooks_path_config,
            "hooks": {
                s.name: {
                    "state": s.state,
                    "settings": asdict(s.settings) if s.settings else None,
                    "previous": str(s.previous) if s.previous else None,
                    "python": s.python,
                }
                for s in states
            },
            "server": server,
        }
        env.stdout.write(json.dumps(data, indent=2) + "\n")
        return 0
    how = f"set by core.hooksPath = {folder.hooks_path_config}" if folder.hooks_path_config else "core.hooksPath not set"
    lines = [f"hooks folder: {folder.path} ({how})", *(f"{s.name}: {s.describe()}" for s in states), f"server: {server}"]
    env.stdout.write("\n".join(lines) + "\n")
    return 0


def _server_line(env) -> str:
    """Whether the hooks' commands will find a warm `coder serve` (no model load per commit)."""
    from coder_cli import config
    from coder_cli.engine.server_record import describe_server

    srv = describe_server(config.coder_home(env.environ), env.environ)
    if srv["url"] is None:
        return f"{srv['why']}: each hook loads the model itself"
    return f"coder serve at {srv['url']} ({srv['model']}): the hooks use it"


@app.command("run", hidden=True)
def run_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The hook: prepare-commit-msg or pre-commit.")],
    args: Annotated[list[str] | None, typer.Argument(help="git's arguments to the hook.")] = None,
    timeout: Annotated[float, typer.Option("--timeout")] = 20.0,
    conventional: Annotated[bool, typer.Option("--conventional")] = False,
    strict: Annotated[bool, typer.Option("--strict")] = False,
) -> int:
    """Run one hook under a hard timeout (called by the hook scripts)."""
    from coder_cli.actions.hook_run import HookContext, run_hook
    from coder_cli.core.hooks import HookSettings

    env = environment(ctx)
    hook_ctx = HookContext([sys.executable, "-m", "coder_cli"], env.environ, env.cwd, env.stderr)
    return run_hook(name, args or [], HookSettings(timeout, conventional, strict), hook_ctx)
