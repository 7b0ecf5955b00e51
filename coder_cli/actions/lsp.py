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
import concurrent.futures
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


class CoderServer(LanguageServer):
    """The server's state: the engine loaded in the worker, the fill cache, the latest request."""

    def __init__(self, load: Callable[[], Completer], version: str, home: Path) -> None:
        super().__init__(NAME, version)
        self._load = load
        self.home = home
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coder-model")
        self.completer: Completer | None = None
        self.load_error: str | None = None
        self.loaded = threading.Event()
        self.cache = FillCache()
        self._latest: threading.Event | None = None  # the newest completion's flag: a newer request sets it
        self.changed_at: dict[str, float] = {}  # uri -> when its buffer last changed
        self.reviewed: set[str] = set()  # documents showing review findings (cleared on save)
        self.answered = 0  # fills the model made
        self.cache_hits = 0  # fills answered from the cache
        self.cancelled = 0  # requests given up: a newer one came, or the client cancelled

    # -- the model ---------------------------------------------------------------------
    def start_loading(self) -> None:
        self._loop = asyncio.get_event_loop()  # (called on the loop's thread)
        self.worker.submit(self._load_now)

    def on_loop(self, fn, *args):
        """Run FN(*ARGS) on the event loop's thread (what the worker sends the client goes through it)
        and wait for its result."""
        done = concurrent.futures.Future()

        def call():
            try:
                done.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                done.set_exception(exc)

        self._loop.call_soon_threadsafe(call)
        return done.result(timeout=30)

    def _load_now(self) -> None:
        token: str | None = "coder-load"
        progress = self.work_done_progress
        window = self.client_capabilities.window
        try:
            if not (window and window.work_done_progress):
                raise LookupError("the client shows no progress")
            self.on_loop(progress.create, token).result(timeout=10)  # the spec: begin only once the client said yes
            begin = types.WorkDoneProgressBegin(title="coder", message="loading the model", cancellable=False)
            self.on_loop(progress.begin, token, begin)
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
                self.on_loop(progress.end, token, types.WorkDoneProgressEnd(message=message))
        if self.load_error:
            self.show_error(f"coder: the model did not load: {self.load_error}")

    def snippets(self) -> bool:
        """Whether the client takes snippet completion items."""
        caps = self.client_capabilities.text_document
        item = caps and caps.completion and caps.completion.completion_item
        return bool(item and item.snippet_support)

    def show_error(self, message: str) -> None:
        """A `window/showMessage` error (from the worker's thread)."""
        self._show(types.MessageType.Error, message)

    def show_info(self, message: str) -> None:
        self._show(types.MessageType.Info, message)

    def _show(self, kind: types.MessageType, message: str) -> None:
        self.on_loop(self.window_show_message, types.ShowMessageParams(type=kind, message=message))

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
        # The word is ASCII (_WORD), so its length is the same in every position encoding. (pygls's
        # client_position_at_offset answers the line after the last one for the end of a document
        # with no final newline.)
        start = types.Position(line=position.line, character=max(0, position.character - len(word)))
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
        flag = self._latest = threading.Event()
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

    def _fill_now(self, req: FillRequest, flag: threading.Event) -> Fill | None:
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

    # -- code actions --------------------------------------------------------------------
    async def run_job(self, fn, *args) -> dict:
        """FN(*ARGS) on the worker, after the model; its answer, or why there is none."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.worker, self._job_now, fn, args)

    def _job_now(self, fn, args) -> dict:
        self.loaded.wait()
        if self.completer is None:
            self.show_error(f"coder: no model: {self.load_error}")
            return {"ok": False, "error": self.load_error}
        try:
            return fn(*args)
        except CoderError as exc:
            self.show_error(f"coder: {exc.message}" + (f" ({exc.hint})" if exc.hint else ""))
            return {"ok": False, "error": exc.message}

    def saved_path(self, uri: str, why: str) -> Path | None:
        """The file of the open document URI when the editor's text is what is on disk; else None,
        after telling the user to save it first (WHY: what reads the file from disk)."""
        from coder_cli.fs.text_file import read_text

        path = Path(to_fs_path(uri))
        if self.workspace.get_text_document(uri).source.replace("\r\n", "\n") != read_text(path).text:
            self.show_error(f"coder: save {path.name} first: {why}")
            return None
        return path

    def fix_now(self, uri: str) -> dict:
        from coder_cli.actions.fix import FixRequest, run_fix

        path = self.saved_path(uri, "the check runs the file as saved")
        if path is None:
            return {"ok": False, "error": "unsaved"}
        doc = self.workspace.get_text_document(uri)
        result = run_fix(FixRequest(path, cwd=path.parent), lambda: self.completer.engine, lambda msg: None, self.home)
        if result.already_passing:
            self.show_info(f"coder: {result.check.description} passes already; nothing to fix")
            return {"ok": True, "fixed": False, "passing": True}
        if result.fixed is None:
            self.show_error(f"coder: no candidate passed {result.check.description} ({result.summary()})")
            return {"ok": True, "fixed": False, "passing": False}
        newline = "\r\n" if "\r\n" in doc.source else "\n"
        edits = line_edits(doc.source, result.fixed.replace("\n", newline))
        edit = types.WorkspaceEdit(changes={uri: edits})
        try:
            answer = self.on_loop(self.workspace_apply_edit, types.ApplyWorkspaceEditParams(edit=edit, label="coder fix"))
            applied = bool(getattr(answer.result(timeout=60), "applied", False))
        except Exception as exc:  # noqa: BLE001 - the client refused or cannot apply edits
            self.show_error(f"coder: the editor did not apply the fix: {exc}")
            return {"ok": False, "fixed": True, "applied": False, "edits": len(edits)}
        self.show_info(f"coder: fixed {path.name}: {result.check.description} passes ({result.summary()})")
        return {"ok": True, "fixed": True, "applied": applied, "summary": result.summary()}

    def review_now(self, uri: str) -> dict:
        import os

        from coder_cli.actions.git_changes import resolve_target
        from coder_cli.actions.review import ReviewRequest, run_review
        from coder_cli.vcs import Git

        path = self.saved_path(uri, "the review reads its changes from git")
        if path is None:
            return {"ok": False, "error": "unsaved"}
        git = Git(path.parent, os.environ)
        target = resolve_target([str(path)], False, False, git, path.parent)
        result = run_review(ReviewRequest(target), git, lambda: self.completer.engine)
        root = git.root
        severity = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}
        diagnostics = [
            types.Diagnostic(
                range=types.Range(
                    start=types.Position(line=f.line - 1, character=0), end=types.Position(line=f.line, character=0)
                ),
                message=f.message,
                severity=severity.get(f.severity, types.DiagnosticSeverity.Information),
                source="coder review",
            )
            for f in result.findings
            if (root / f.path).resolve() == path.resolve()
        ]
        self.on_loop(self.text_document_publish_diagnostics, types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))
        self.reviewed.add(uri)
        if result.view is None:
            self.show_info(f"coder: {path.name} has no changes to review")
        return {"ok": True, "findings": len(diagnostics)}

    def explain_now(self, uri: str, first: int, last: int | None) -> dict:
        from coder_cli.engine import GenParams

        doc = self.workspace.get_text_document(uri)
        lines = doc.source.split("\n")
        last = len(lines) - 1 if last is None or last < first else last
        code = "\n".join(lines[first : last + 1]) if last > first else doc.source
        name = uri.rsplit("/", 1)[-1]
        messages = [
            {"role": "system", "content": "You explain code briefly and precisely, in plain sentences."},
            {"role": "user", "content": f"Explain what this code from {name} does:\n\n```\n{code}\n```"},
        ]
        gen = self.completer.engine.chat(messages, GenParams(max_tokens=300, temperature=0.0))
        text = "".join(gen).strip()
        self.show_info(text or "coder: the model had nothing to say")
        return {"ok": True, "text": text}

    def close(self) -> None:
        """Stop the worker (a fill in progress gives up at its next batch or token) and free the
        model: never while a decode may still run on it."""
        if self._latest is not None:
            self._latest.set()
        self.worker.shutdown(wait=True, cancel_futures=True)
        if self.completer is not None:
            self.completer.close()
            self.completer.engine.close()


def _label(word: str, completion: str) -> str:
    first = (word + completion).strip("\n").split("\n", 1)[0].strip()
    return first or completion.strip() or "(blank line)"


def build(load: Callable[[], Completer], version: str, home: Path) -> CoderServer:
    """The language server; LOAD makes the completer (it loads the model), called once in the worker."""
    server = CoderServer(load, version, home)

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
            plain = word + fill.completion
            # As a snippet where the client takes them (the text escaped, so it goes in as is): Neovim
            # inserts only the first word of a plain-text item's edit (up to a space), a snippet whole.
            snippet = ls.snippets()
            new_text = _snippet_escape(plain) if snippet else plain
            fmt = types.InsertTextFormat.Snippet if snippet else types.InsertTextFormat.PlainText
            items.append(
                types.CompletionItem(
                    label=_label(word, fill.completion),
                    kind=types.CompletionItemKind.Text,
                    detail=f"coder ({fill.mode})",
                    documentation=types.MarkupContent(kind=types.MarkupKind.PlainText, value=plain),
                    filter_text=plain,
                    sort_text="0",
                    preselect=True,
                    insert_text=new_text,
                    insert_text_format=fmt,
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

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, types.CodeActionKind.Source, types.CodeActionKind.Empty]
        ),
    )
    def code_action(ls: CoderServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        if not uri.startswith("file:"):
            return []
        first, last = params.range.start.line, params.range.end.line
        return [
            types.CodeAction(
                title="Fix with coder",
                kind=types.CodeActionKind.QuickFix,
                command=types.Command(title="Fix with coder", command="coder.fix", arguments=[uri]),
            ),
            types.CodeAction(
                title="Review this file's changes with coder",
                kind=types.CodeActionKind.Source,
                command=types.Command(title="Review this file's changes with coder", command="coder.review", arguments=[uri]),
            ),
            types.CodeAction(
                title="Explain with coder",
                kind=types.CodeActionKind.Empty,
                command=types.Command(title="Explain with coder", command="coder.explain", arguments=[uri, first, last]),
            ),
        ]

    @server.command("coder.fix")
    async def fix(ls: CoderServer, uri: str) -> dict:
        """Repair the file against its check (its test file when one is found, else its syntax); the
        result goes to the editor as a `workspace/applyEdit`, so the editor's undo takes it back."""
        return await ls.run_job(ls.fix_now, uri)

    @server.command("coder.review")
    async def review(ls: CoderServer, uri: str) -> dict:
        """`coder review` of the file's changes against HEAD, as diagnostics (cleared on its next save)."""
        return await ls.run_job(ls.review_now, uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: CoderServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if uri in ls.reviewed:  # the findings were about the text before this save
            ls.reviewed.discard(uri)
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.command("coder.explain")
    async def explain(ls: CoderServer, uri: str, first: int = 0, last: int | None = None) -> dict:
        """What the selected lines (or the file) do, as a message."""
        return await ls.run_job(ls.explain_now, uri, first, last)

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


def line_edits(old: str, new: str) -> list[types.TextEdit]:
    """The line ranges that differ between OLD and NEW as TextEdits on OLD (whole lines: positions
    at line starts, the same in every position encoding)."""
    import difflib

    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        start = types.Position(line=i1, character=0)
        end = types.Position(line=i2, character=0)
        edits.append(types.TextEdit(range=types.Range(start=start, end=end), new_text="".join(b[j1:j2])))
    return edits


def _snippet_escape(text: str) -> str:
    """TEXT as a snippet that inserts exactly TEXT (no tab stops, no variables)."""
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("}", "\\}")
