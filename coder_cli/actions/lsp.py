"""`coder lsp`: a language server over stdio, so any editor with an LSP client gets coder's fills.

What the model sees is the editor's buffer (the document sync the client sends), saved or not;
the repository's own context comes as in `coder complete`, and other open buffers with unsaved
changes are shown beside it. One worker thread does all model work, in order; a completion that
a newer keystroke made stale is given up (between prompt batches or tokens), never queued behind.
The model loads once, when the client says `initialized`, with `$/progress` while it does; a
model that fails to load is a `window/showMessage`, and the server goes on answering (empty).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from coder_cli.actions.complete import Cancelled, Completer, Fill, FillCache, FillRequest
from coder_cli.errors import CoderError

NAME = "coder"
# Other open buffers with unsaved changes shown to the model: the most recently changed first.
MAX_DIRTY_BUFFERS = 4
_WORD = re.compile(r"[A-Za-z0-9_]*$")


class _Flag:
    """A cancel flag the engine and the completer poll (``is_set``)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


class CoderServer(LanguageServer):
    """The server's state: the engine loaded in the worker, the fill cache, the latest request."""

    def __init__(self, load: Callable[[], Completer], version: str) -> None:
        super().__init__(NAME, version)
        self._load = load
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coder-model")
        self.completer: Completer | None = None
        self.load_error: str | None = None
        self.loaded = threading.Event()
        self.cache = FillCache()
        self._latest: _Flag | None = None  # the newest completion's flag: a newer request sets it
        self.changed_at: dict[str, float] = {}  # uri -> when its buffer last changed
        self.answered = 0  # fills the model made
        self.cache_hits = 0  # fills answered from the cache
        self.cancelled = 0  # requests given up: a newer one came, or the client cancelled

    # -- the model ---------------------------------------------------------------------
    def start_loading(self) -> None:
        self.worker.submit(self._load_now)

    def _load_now(self) -> None:
        token: str | None = "coder-load"
        progress = self.work_done_progress
        window = self.client_capabilities.window
        try:
            if not (window and window.work_done_progress):
                raise LookupError("the client shows no progress")
            progress.create(token).result(timeout=10)  # the spec: begin only once the client said yes
            progress.begin(token, types.WorkDoneProgressBegin(title="coder", message="loading the model", cancellable=False))
        except Exception:  # noqa: BLE001 - progress is a courtesy
            token = None
        t0 = time.perf_counter()
        try:
            self.completer = self._load()
            message = f"model ready ({time.perf_counter() - t0:.1f} s)"
        except CoderError as exc:
            self.load_error = exc.message + (f" ({exc.hint})" if exc.hint else "")
            message = "the model did not load"
        except Exception as exc:  # noqa: BLE001 - the server must stay up to say why
            self.load_error = f"{type(exc).__name__}: {exc}"
            message = "the model did not load"
        finally:
            self.loaded.set()
            if token is not None:
                progress.end(token, types.WorkDoneProgressEnd(message=message))
        if self.load_error:
            self.show_error(f"coder: the model did not load: {self.load_error}")

    def show_error(self, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=message))

    # -- requests ----------------------------------------------------------------------
    def fill_request(self, uri: str, position: types.Position) -> tuple[FillRequest, str, types.Position]:
        """The fill request at POSITION of the open document URI, the word before the cursor and
        where that word starts (in the client's position units)."""
        doc = self.workspace.get_text_document(uri)
        text = doc.source
        at = min(doc.offset_at_position(position), len(text))
        prefix, suffix = text[:at], text[at:]
        if uri.startswith("file:"):
            path, own = Path(to_fs_path(uri) or "untitled"), True
        else:  # an untitled buffer: no repository to read
            path, own = Path("/") / (uri.rsplit("/", 1)[-1] or "untitled"), False
        word = _WORD.search(prefix.rsplit("\n", 1)[-1]).group(0)
        start = doc.client_position_at_offset(at - len(word))
        return FillRequest(path, prefix, suffix, "auto", extra=self.dirty_buffers(uri), own_context=own), word, start

    def dirty_buffers(self, current: str) -> tuple[tuple[str, str], ...]:
        """Other open buffers whose text is not what is on disk (the index reads the disk), oldest
        change first, as (name, text) chunks."""
        out = []
        for uri in sorted(self.changed_at, key=self.changed_at.get):
            if uri == current or uri not in self.workspace.text_documents:
                continue
            doc = self.workspace.get_text_document(uri)
            path = to_fs_path(uri) if uri.startswith("file:") else None
            try:
                saved = Path(path).read_text(encoding="utf-8") if path else None
            except (OSError, UnicodeDecodeError):
                saved = None
            if doc.source != saved:
                out.append((Path(path).name if path else uri.rsplit("/", 1)[-1], doc.source))
        return tuple(out[-MAX_DIRTY_BUFFERS:])

    async def fill(self, req: FillRequest) -> Fill | None:
        """The fill for REQ, from the cache or the model; None when there is none to give (no model,
        or a newer request took over)."""
        hit = self.cache.get(req)
        if hit is not None:
            self.cache_hits += 1
            return hit
        if self._latest is not None:
            self._latest.set()  # the older request is stale: it gives up at its next batch or token
        flag = self._latest = _Flag()
        loop = asyncio.get_running_loop()
        try:
            fill = await loop.run_in_executor(self.worker, self._fill_now, req, flag)
        except asyncio.CancelledError:  # $/cancelRequest: the client has moved on
            flag.set()
            self.cancelled += 1
            raise
        if fill is not None:
            self.cache.put(req, fill)
            self.answered += 1
        return fill

    def _fill_now(self, req: FillRequest, flag: _Flag) -> Fill | None:
        if flag.is_set():
            self.cancelled += 1
            return None
        self.loaded.wait()
        if self.completer is None:
            return None
        try:
            return self.completer.fill(req, cancel=flag)
        except Cancelled:
            self.cancelled += 1
            return None
        except CoderError as exc:
            self.show_error(f"coder: {exc.message}")
            return None

    def close(self) -> None:
        self.worker.shutdown(wait=False, cancel_futures=True)
        if self.completer is not None:
            self.completer.close()
            self.completer.engine.close()


def _label(word: str, completion: str) -> str:
    first = (word + completion).strip("\n").split("\n", 1)[0].strip()
    return first or completion.strip() or "(blank line)"


def build(load: Callable[[], Completer], version: str) -> CoderServer:
    """The language server; LOAD makes the completer (it loads the model), called once in the worker."""
    server = CoderServer(load, version)

    @server.feature(types.INITIALIZED)
    def initialized(ls: CoderServer, params: types.InitializedParams) -> None:
        ls.start_loading()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: CoderServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.changed_at.setdefault(params.text_document.uri, 0.0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: CoderServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.changed_at[params.text_document.uri] = time.monotonic()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: CoderServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.changed_at.pop(params.text_document.uri, None)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", "(", " "]))
    async def completion(ls: CoderServer, params: types.CompletionParams) -> types.CompletionList:
        req, word, start = ls.fill_request(params.text_document.uri, params.position)
        fill = await ls.fill(req)
        items = []
        if fill is not None and fill.completion.strip():
            pos = params.position
            new_text = word + fill.completion
            items.append(
                types.CompletionItem(
                    label=_label(word, fill.completion),
                    kind=types.CompletionItemKind.Text,
                    detail=f"coder ({fill.mode})",
                    documentation=types.MarkupContent(kind=types.MarkupKind.PlainText, value=new_text),
                    filter_text=new_text,
                    sort_text="0",
                    preselect=True,
                    insert_text=new_text,
                    insert_text_format=types.InsertTextFormat.PlainText,
                    text_edit=types.TextEdit(range=types.Range(start=start, end=pos), new_text=new_text),
                )
            )
        # Incomplete: every key typed asks again (answered from the fill cache while it agrees).
        return types.CompletionList(is_incomplete=True, items=items)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(ls: CoderServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
        req, _, _ = ls.fill_request(params.text_document.uri, params.position)
        fill = await ls.fill(req)
        items = []
        if fill is not None and fill.completion.strip():
            pos = params.position
            items.append(types.InlineCompletionItem(insert_text=fill.completion, range=types.Range(start=pos, end=pos)))
        return types.InlineCompletionList(items=items)

    @server.command("coder.stats")
    def stats(ls: CoderServer, *args) -> dict:
        """What the server has done: for a status line, and for the tests."""
        return {
            "answered": ls.answered,
            "cache_hits": ls.cache_hits,
            "cancelled": ls.cancelled,
            "model": ls.completer.engine.info.model if ls.completer is not None else None,
            "load_error": ls.load_error,
        }

    return server
