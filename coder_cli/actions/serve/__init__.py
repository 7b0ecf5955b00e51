"""`coder serve`: one warm engine (model + KV cache) behind an OpenAI-compatible HTTP API.

Routes (JSON in and out; ``stream: true`` gives server-sent events like OpenAI's):

- ``GET /health``, ``GET /v1/models``, ``GET /coder/hello?challenge=C`` (no token: discovery's
  proof that this process wrote the server record)
- ``POST /v1/chat/completions`` (messages), ``POST /v1/completions`` (a string prompt, read
  with special tokens, or a list of token ids; ``stop_tokens`` names special tokens that end it)
- ``POST /tokenize`` (``content`` [+ ``parse_special``], or ``messages``: the exact chat prompt),
  ``POST /detokenize`` (``tokens``): the llama.cpp server's shapes
- ``GET /coder/info``, ``POST /coder/prefill``, ``POST /coder/score``: what `coder` commands need
  to run unchanged against this server (RemoteEngine)
- ``POST /coder/complete``: one request of `coder complete --stdin-json` (plus ``cwd``, the
  folder its path is relative to), answered by the same code with the warm engine

The package: ``protocol`` (request fields -> values, pure), ``queue`` (the engine's FIFO lock),
``handler`` (the HTTP handler: authorization, routes, streaming), ``server`` (the listening socket,
the server record, what the routes do with the engine).

One llama.cpp context serves one request at a time: requests queue on a lock in arrival order
(a pre-warm gives way as soon as another request waits); tokenizing queues too. A streaming client
that stops reading is dropped after ``queue.STALL_TIMEOUT`` (``STALL_TIMEOUT_CONTENDED`` while another
request waits); ``server.MAX_CONNECTIONS`` connections
at once, ``protocol.MAX_BODY`` a body (docs/commands.md, "Serve limits").
"""

from coder_cli.actions.serve.queue import Queue
from coder_cli.actions.serve.server import Server, run

__all__ = ["Queue", "Server", "run"]
