"""`coder serve`: a warm shared engine on loopback, OpenAI-compatible."""

from __future__ import annotations

from typing import Annotated

import typer

from coder_cli.cli.common import engine_options, runtime

DEFAULT_PORT = 8741


@engine_options(remote=False)
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; anything but loopback needs --api-key.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port; 0 picks a free one.")] = DEFAULT_PORT,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="Require this key (Authorization: Bearer KEY); or CODER_API_KEY.", show_default=False),
    ] = None,
    log: Annotated[bool, typer.Option("--log", help="Print one line per request on stderr.")] = False,
    engine: dict | None = None,
) -> int:
    """Keep one model loaded and serve it: OpenAI-compatible API plus coder's own requests.

    Other `coder` commands find it through $CODER_HOME/server.json (or CODER_SERVER=URL) and
    use it instead of loading the model themselves; CODER_SERVER=off makes them load their own.
    Any OpenAI client works against http://HOST:PORT/v1. Ctrl-C stops it.

    \b
    coder serve                          # 127.0.0.1:8741, the default model
    coder serve --model 1.5b --port 0    # another model, a free port
    CODER_API_KEY=… coder serve --host 0.0.0.0
    """
    from coder_cli.actions.serve import Server, run
    from coder_cli.engine.server_record import refuse_second_server

    rt = runtime(ctx, **engine)
    key = api_key or rt.env.environ.get("CODER_API_KEY", "")
    refuse_second_server(rt.home, rt.env.environ)
    engine = rt.load_engine(use_server=False)
    try:
        server = Server(engine, rt.home, host, port, key, log=rt.diag.note if log else None)
    except BaseException:
        engine.close()
        raise
    i = engine.info
    rt.diag.note(
        f"coder serve: {i.model} ({i.backend}, ctx {i.n_ctx:,}) on {server.url}  ·  OpenAI base {server.url}/v1  ·  Ctrl-C stops"
    )
    run(server)
    rt.diag.note(f"coder serve stopped ({server.served} requests served)")
    return 0
