"""`coder serve`: a warm shared engine on loopback, OpenAI-compatible."""

from __future__ import annotations

import signal
import threading
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
    from coder_cli.actions.serve import Server
    from coder_cli.engine.server_record import find_server
    from coder_cli.errors import Interrupted, UsageError

    rt = runtime(ctx, **engine)
    key = api_key or rt.env.environ.get("CODER_API_KEY", "")
    running = find_server(rt.home, {k: v for k, v in rt.env.environ.items() if k != "CODER_SERVER"})
    if running is not None:
        endpoint, info = running
        raise UsageError(
            f"a coder serve already runs for {rt.home} at {endpoint.root} (pid {info.get('pid')}, {info.get('model')})",
            "stop it first, or give this one its own CODER_HOME",
        )
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
    previous = _stop_on_sigterm(server)
    try:
        server.serve_forever()
    except (Interrupted, KeyboardInterrupt):
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if server.queue.waiting == 0 and not server.queue.busy:
            engine.close()  # (a request still running keeps it: the process exits anyway)
    rt.diag.note(f"coder serve stopped ({server.served} requests served)")
    return 0


def _stop_on_sigterm(server):
    """SIGTERM stops the server like Ctrl-C does (the server file is removed either way)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    return signal.signal(signal.SIGTERM, stop)
