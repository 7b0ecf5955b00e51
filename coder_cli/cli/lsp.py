"""`coder lsp`: a language server over stdio for any editor with an LSP client."""

from __future__ import annotations

from typing import Annotated

import typer

from coder_cli.cli.common import engine_options, runtime
from coder_cli.errors import UsageError


@engine_options()
def lsp(
    ctx: typer.Context,
    stdio: Annotated[
        bool, typer.Option("--stdio", help="Talk over stdin/stdout (the default; clients that pass it are fine).")
    ] = True,
    budget: Annotated[int, typer.Option("--budget", help="Tokens of cross-file context (0: none).")] = 1024,
    engine: dict | None = None,
) -> int:
    """Language server: coder's fills as completions and inline (ghost-text) completions.

    An editor starts it; it speaks JSON-RPC on stdin/stdout and logs on stderr. The model loads
    once, after the editor connects (a running `coder serve` is used instead when there is one).

    \b
    Neovim:  vim.lsp.config('coder', {cmd = {'coder', 'lsp'}, filetypes = {'python'}})
             vim.lsp.enable('coder')
    Helix:   language-server.coder = { command = "coder", args = ["lsp"] }  (languages.toml)
    """
    try:
        from coder_cli.actions.lsp import build
    except ImportError as exc:
        raise UsageError(
            f"coder lsp needs pygls and lsprotocol ({exc.name} is missing)", "pip install 'coder-cli[lsp]'"
        ) from None
    from coder_cli import __version__
    from coder_cli.actions.complete import Completer

    rt = runtime(ctx, **engine)
    if budget < 0:
        raise UsageError("--budget must be 0 or more")

    def load() -> Completer:
        # An editor waits on every answer: no sampled candidates (a fill one level off is still moved).
        return Completer(rt.load_engine(), rt.home, budget=budget, candidates=1)

    server = build(load, __version__, rt.home)
    try:
        server.start_io(rt.env.stdin.buffer if hasattr(rt.env.stdin, "buffer") else None)
    finally:
        server.close()
    return 0
