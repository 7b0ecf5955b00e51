"""`coder chat`: the session's context, its prompt, each turn, the changes it applies and undoes.

The prompt is assembled in one stable order (system prompt, repository map, files, earlier
turns, the new turn), so llama.cpp reuses the longest common token prefix and a new turn
reads only its own tokens. While the user types, ``Prewarm`` evaluates everything already
known, so the question is all that is left to read when Enter is pressed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from coder_cli.actions.chat_edits import Edit, propose
from coder_cli.actions.chat_sessions import SessionData, SessionStore
from coder_cli.actions.proposal import Proposal
from coder_cli.core import chat_prompts, echo
from coder_cli.engine import Engine, GenParams, GenStats, usage
from coder_cli.engine.base import common_prefix
from coder_cli.errors import ContextOverflow, Interrupted, UsageError
from coder_cli.fs.atomic_write import WriteRefused, check_inside
from coder_cli.fs.text_file import decode, read_text
from coder_cli.fs.undo_journal import JournalEntry, UndoJournal

MAX_FILE_BYTES = 1_000_000  # larger files are refused before they are tokenized
MIN_QUESTION = 64  # room a file must leave for a question
OUTPUT_CHARS = 6000  # of a /run or /test output, kept for the model (the tail)
SHELL_TIMEOUT = 600  # seconds a /run or /test command may take


@dataclass
class ChatFile:
    rel: str
    text: str
    tokens: int
    stamp: tuple[int, int]  # (mtime_ns, size) when read


@dataclass
class TurnResult:
    reply: str
    stats: GenStats
    interrupted: bool = False
    edits: list[Edit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # dropped turns, reloaded files, unusable blocks
    seconds: float = 0.0


@dataclass
class Budget:
    """Where the context goes, part by part (tokens)."""

    parts: list[tuple[str, int]]
    total: int  # the exact prompt of the next turn without its question
    n_ctx: int
    reply: int

    @property
    def free(self) -> int:
        return max(0, self.n_ctx - self.reply - self.total)


class Prewarm:
    """Evaluates the known part of the next prompt in a background thread."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.tokens = 0  # size of the prefix asked for
        self.evaluated = 0
        self.seconds = 0.0
        self.error: Exception | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, engine: Engine, tokens: list[int]) -> None:
        self.stop()
        self._cancel = threading.Event()
        self.tokens, self.evaluated, self.seconds, self.error = len(tokens), 0, 0.0, None
        cancel = self._cancel

        def work() -> None:
            t0 = time.perf_counter()
            try:
                self.evaluated = engine.prefill(tokens, cancel)
            except Exception as exc:  # noqa: BLE001 - reported by the turn that follows, not lost in a thread
                self.error = exc
            self.seconds = time.perf_counter() - t0

        self._thread = threading.Thread(target=work, name="coder-prewarm", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Let the work finish: it is the start of the next prompt either way."""
        if self._thread is not None:
            while self._thread.is_alive():
                self._thread.join(0.05)  # short joins: Ctrl-C stays deliverable
            self._thread = None

    def stop(self) -> None:
        if self._thread is not None:
            self._cancel.set()
            self.wait()


class ChatSession:
    def __init__(
        self,
        root: Path,
        home: Path,
        load: Callable[[str | None], Engine],
        *,
        reply_tokens: int = 1024,
        map_budget: int = 1024,
        temperature: float = 0.0,
        seed: int = 0,
        data: SessionData,
        prewarm: bool = True,
    ) -> None:
        self.root = root.resolve()
        self.home = home
        self._load = load
        self.reply_tokens = reply_tokens
        self.map_budget = map_budget
        self.temperature = temperature
        self.seed = seed
        self.data = data
        self.use_prewarm = prewarm
        self.prewarm = Prewarm()
        self.files: dict[str, ChatFile] = {}
        self.attachments: list[str] = []  # command outputs that join the next question
        self._engine: Engine | None = None
        self._model: str | None = None  # None: the configured model
        self._index = None
        self._map: tuple[tuple[str, ...], str] | None = None  # (files it was built for, text)
        self._journal = UndoJournal(home)

    # -- engine ------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._load(self._model)
            self.data.model = self._engine.info.model
        return self._engine

    def start(self) -> Engine:
        """Load the model now (a missing model is an error before the first prompt, not after it)."""
        return self.engine

    def switch_model(self, model: str) -> str:
        """Load MODEL in place of the current one (the conversation is kept)."""
        self.prewarm.stop()
        engine = self._load(model)
        if self._engine is not None:
            self._engine.close()
        self._engine, self._model = engine, model
        self.data.model = engine.info.model
        self._map = None  # counted with the old tokenizer
        for rel, f in self.files.items():
            self.files[rel] = ChatFile(rel, f.text, engine.count_tokens(f.text), f.stamp)
        return engine.info.model

    def close(self) -> None:
        try:
            self.prewarm.stop()
        finally:
            if self._index is not None:
                self._index.close()
            if self._engine is not None and not self.prewarm.running:  # never free a model a thread still decodes with
                self._engine.close()
                self._engine = None

    # -- files -------------------------------------------------------------------------
    def resolve(self, name: str, cwd: Path) -> Path:
        path = Path(name).expanduser()
        path = path if path.is_absolute() else cwd / path
        if not path.exists():
            raise UsageError(f"file not found: {name}")
        if path.is_dir():
            raise UsageError(f"{name} is a folder; add the files in it one by one")
        try:
            return check_inside(path, self.root)
        except WriteRefused:
            raise UsageError(
                f"{name} is outside the repository {self.root}", "chat works on the files of one repository"
            ) from None

    def add(self, name: str, cwd: Path) -> ChatFile:
        """Add a file to the context; refused (UsageError) when missing, binary, not text or too large."""
        path = self.resolve(name, cwd)
        rel = path.relative_to(self.root).as_posix()
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UsageError(
                f"{rel} is {size:,} bytes; files over {MAX_FILE_BYTES:,} bytes are not added",
                "add the part you need to a smaller file, or ask about it with `/run cat …`",
            )
        try:
            tf = read_text(path)
        except UsageError as exc:  # binary, not text: said with the name the user knows
            raise UsageError(exc.message.replace(str(path), rel), exc.hint) from None
        tokens = self.engine.count_tokens(tf.text)
        used = self.budget(without=rel).total
        room = self.engine.n_ctx - self.reply_tokens - MIN_QUESTION - used
        if tokens > room:
            raise UsageError(
                f"{rel} is {tokens:,} tokens; the context has room for {max(room, 0):,} more "
                f"({self.engine.n_ctx:,} in all, {self.reply_tokens:,} kept for the reply, {used:,} in use)",
                "drop files with /drop, /clear the conversation, or raise --ctx",
            )
        chat_file = ChatFile(rel, tf.text, tokens, _stamp(path))
        self.files[rel] = chat_file
        self._sync_data()
        return chat_file

    def drop(self, name: str) -> str:
        rel = self._find(name)
        del self.files[rel]
        self._sync_data()
        return rel

    def _find(self, name: str) -> str:
        if name in self.files:
            return name
        hits = [rel for rel in self.files if rel.endswith("/" + name) or Path(rel).name == name]
        if len(hits) == 1:
            return hits[0]
        raise UsageError(f"{name} is not in the chat", f"files in the chat: {', '.join(self.files) or 'none'}")

    def refresh(self) -> list[str]:
        """Re-read files changed on disk since they were read; drop the ones that are gone."""
        notes = []
        for rel, f in list(self.files.items()):
            path = self.root / rel
            try:
                stamp = _stamp(path)
            except OSError:
                del self.files[rel]
                notes.append(f"{rel} is gone; dropped from the chat")
                continue
            if stamp != f.stamp:
                try:
                    tf = read_text(path)
                except UsageError as exc:
                    del self.files[rel]
                    notes.append(f"{rel} dropped from the chat: {exc.message}")
                    continue
                self.files[rel] = ChatFile(rel, tf.text, self.engine.count_tokens(tf.text), stamp)
                notes.append(f"{rel} changed on disk; the chat now sees the new version")
        self._sync_data()
        return notes

    def _sync_data(self) -> None:
        self.data.files = list(self.files)

    # -- the prompt ----------------------------------------------------------------------
    def repo_map(self) -> str:
        """The repository map focused on the files in the chat (rebuilt when they change)."""
        key = tuple(sorted(self.files))
        if self._map is not None and self._map[0] == key:
            return self._map[1]
        text = ""
        budget = min(self.map_budget, self.engine.n_ctx // 8)  # a small window is for files and talk
        if budget > 0:
            from coder_cli.context.repomap import RepoIndex, build_map

            if self._index is None:
                self._index = RepoIndex(self.root, self.home, time_budget=10)
            m = build_map(
                self._index,
                budget=budget,
                count_tokens=self.engine.count_tokens,
                tokenizer_id=self.engine.info.model,
                focus=list(key),
                exclude=list(key),
            )
            text = m.text
        self._map = (key, text)
        return text

    def system(self) -> str:
        return chat_prompts.system_text(self.repo_map(), [(f.rel, f.text) for f in self.files.values()])

    def messages(self, question: str | None) -> list[dict]:
        return chat_prompts.messages(self.system(), self.data.turns, question)

    def known_tokens(self) -> list[int]:
        """The tokens every next prompt starts with, whatever the question (what pre-warm reads)."""
        engine = self.engine
        base = self.messages(None)
        a = engine.chat_prompt([*base, {"role": "user", "content": "a"}])
        b = engine.chat_prompt([*base, {"role": "user", "content": "b"}])
        return a[: common_prefix(a, b)]

    def start_prewarm(self) -> None:
        if self.use_prewarm:
            tokens = self.known_tokens()
            if len(tokens) + self.reply_tokens < self.engine.n_ctx:
                self.prewarm.start(self.engine, tokens)

    def budget(self, without: str | None = None) -> Budget:
        engine = self.engine
        count = engine.count_tokens
        files = [f for f in self.files.values() if f.rel != without]
        map_text = self.repo_map()
        parts = [("system prompt", count(chat_prompts.CHAT_SYSTEM)), ("repo map", count(map_text) if map_text else 0)]
        parts += [(f"file {f.rel}", f.tokens) for f in files]
        turns = self.data.turns
        parts.append((f"conversation ({len(turns)} turn{'s' if len(turns) != 1 else ''})", 0))
        system = chat_prompts.system_text(map_text, [(f.rel, f.text) for f in files])
        total = len(engine.chat_prompt(chat_prompts.messages(system, turns, "")))
        fixed = len(engine.chat_prompt(chat_prompts.messages(system, [], "")))
        parts[-1] = (parts[-1][0], total - fixed)
        return Budget(parts, total, engine.n_ctx, self.reply_tokens)

    # -- a turn --------------------------------------------------------------------------
    def _fit(self, question: str) -> tuple[list[dict], int, list[str]]:
        """The messages of this turn and their length in tokens. When they leave the reply too little room, the oldest turns
        are dropped (a note each) until a quarter of the context is free again: dropping in one
        go, not a turn per turn, keeps the prompt's head stable for the turns that follow.
        Nothing is dropped when even an empty conversation cannot hold this turn."""
        engine = self.engine
        system = self.system()
        turns = list(self.data.turns)
        n = len(engine.chat_prompt(chat_prompts.messages(system, turns, question)))
        if n + self.reply_tokens > engine.n_ctx:
            goal = engine.n_ctx - max(self.reply_tokens, engine.n_ctx // 4)
            while turns and n > goal:
                turns.pop(0)
                n = len(engine.chat_prompt(chat_prompts.messages(system, turns, question)))
        room = engine.n_ctx - n
        if room < min(256, self.reply_tokens):
            pending = f" (with {len(self.attachments)} command output(s) waiting to be sent)" if self.attachments else ""
            raise ContextOverflow(
                f"this turn is {n:,} tokens{pending}; the context holds {engine.n_ctx:,} and the reply needs room",
                "ask a shorter question, /drop a file, /clear, or raise --ctx; nothing was dropped",
            )
        notes = []
        for user, assistant in self.data.turns[: len(self.data.turns) - len(turns)]:
            size = engine.count_tokens(user) + engine.count_tokens(assistant)
            notes.append(f"context full: dropped the oldest turn ({size:,} tokens: {_clip(user)})")
        self.data.turns[:] = turns
        return chat_prompts.messages(system, turns, question), n, notes

    def ask(self, question: str, emit: Callable[[str], None]) -> TurnResult:
        """Answer QUESTION, streaming through EMIT. Ctrl-C stops the reply and keeps the session
        (an interrupted turn is not kept in the conversation)."""
        t0 = time.perf_counter()
        try:
            self.prewarm.wait()
        except (Interrupted, KeyboardInterrupt):  # Ctrl-C before the reply started: the same as during it
            return TurnResult("", GenStats(), interrupted=True, seconds=time.perf_counter() - t0)
        notes = self.refresh()
        if self.prewarm.error is not None:
            notes.append(f"pre-warm failed ({self.prewarm.error}); this turn reads the whole prompt")
            self.prewarm.error = None
        user = chat_prompts.user_text(question, self.attachments)
        messages, n_prompt, dropped = self._fit(user)
        notes += dropped
        room = self.engine.n_ctx - n_prompt
        params = GenParams(max_tokens=min(self.reply_tokens, room), temperature=self.temperature, seed=self.seed)
        reply, stats, interrupted, echoed = self._reply(messages, params, question, emit)
        if echoed and len(messages) > 2:
            # The small model said the question back (it does after long answers): once more,
            # without the earlier turns, which stay in the conversation.
            earlier = len(messages) - 2
            notes.append(f"the model repeated the question back; asked again without the {earlier // 2} earlier turn(s)")
            messages = [messages[0], messages[-1]]
            reply, again, interrupted, echoed = self._reply(messages, params, question, emit)
            stats = usage.total([stats, again])
        result = TurnResult(reply, stats, interrupted, notes=notes)
        if echoed:
            result.reply = ""
            result.notes.append(
                "the model only repeated the question back, so nothing was kept of this turn; "
                "rephrase it, /clear the conversation, or use a larger model (/model 1.5b)"
            )
        elif not interrupted:
            self.attachments.clear()
            self.data.turns.append((user, reply))
            if stats.finish_reason == "length":
                result.notes.append(f"the reply stopped at the {params.max_tokens:,}-token limit")
            proposal = propose(reply, {rel: f.text for rel, f in self.files.items()})
            result.edits, result.notes = proposal.edits, result.notes + proposal.notes
        result.seconds = time.perf_counter() - t0
        return result

    def _reply(
        self, messages: list[dict], params: GenParams, question: str, emit: Callable[[str], None]
    ) -> tuple[str, GenStats, bool, bool]:
        """Generate a reply, streamed through EMIT except while it could still be QUESTION said back
        (that part is shown once the reply turns out to be something else).
        Returns (reply, stats, interrupted, echoed); an echo is not shown at all."""
        pieces: list[str] = []
        held = True
        gen = self.engine.chat(messages, params)
        interrupted = False
        try:
            for piece in gen:
                pieces.append(piece)
                if not held:
                    emit(piece)
                elif not echo.may_become_echo(question, "".join(pieces)):
                    held = False
                    emit("".join(pieces))
        except (Interrupted, KeyboardInterrupt):
            interrupted = True
        finally:
            gen.close()
        reply = "".join(pieces)
        echoed = held and not interrupted and echo.is_echo(question, reply)
        if held and not echoed and reply:
            emit(reply)
        return reply, gen.stats, interrupted, echoed

    # -- commands the user runs: /run, /test -----------------------------------------------
    def shell(self, command: str) -> tuple[int, str]:
        """Run COMMAND (the user's, after a yes) in the repository root: (exit code, output)."""
        import subprocess

        try:
            proc = subprocess.run(
                command, shell=True, cwd=self.root, capture_output=True, text=True, errors="replace", timeout=SHELL_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            return 124, f"(stopped after {SHELL_TIMEOUT} s)"
        return proc.returncode, (proc.stdout + proc.stderr)

    def attach(self, command: str, code: int, output: str) -> None:
        """Let OUTPUT (its tail) join the next question."""
        self.attachments.append(chat_prompts.command_output(command, code, output[-OUTPUT_CHARS:]))

    def failing_file(self, output: str) -> str | None:
        """The chat file a failing check's OUTPUT is about: the one it names most (the only one, if one)."""
        files = list(self.files)
        if not files:
            return None
        mentioned = sorted(files, key=lambda rel: -output.count(Path(rel).name))
        if output.count(Path(mentioned[0]).name) or len(files) == 1:
            return mentioned[0]
        return None

    def fix(self, rel: str, command: str, note: Callable[[str], None]):
        """Run `coder fix`'s loop on REL against COMMAND with this session's engine (a FixResult)."""
        from coder_cli.actions.fix import FixRequest, run_fix

        self.prewarm.stop()
        return run_fix(FixRequest(self.root / rel, command), lambda: self.engine, note, self.home)

    def restore(self, data: SessionData) -> list[str]:
        """Continue DATA: its conversation and the files it had (those still there); notes on what happened."""
        notes = []
        self.data = data
        self.files.clear()
        for rel in list(data.files):
            try:
                self.add(rel, self.root)
            except UsageError as exc:
                notes.append(f"not restored: {exc.message}")
        notes.insert(0, f"session {data.name}: {len(data.turns)} turn(s), files: {', '.join(self.files) or 'none'}")
        return notes

    def clear(self) -> int:
        n = len(self.data.turns)
        self.data.turns.clear()
        self.attachments.clear()
        return n

    # -- changes -------------------------------------------------------------------------
    def proposal(self, edit: Edit) -> Proposal:
        """EDIT as the one write path takes it; WriteRefused when the file changed since the reply."""
        path = check_inside(self.root / edit.rel, self.root)
        original = read_text(path)
        if original.text != edit.before:
            raise WriteRefused(f"{edit.rel} changed since the reply was written; ask again")
        return Proposal(path, edit.rel, original, edit.after, "coder chat", summary=edit.summary, root=self.root)

    def write(self, p: Proposal) -> JournalEntry:
        """Write P (consent given), journal it, and show the chat the new file."""
        entry = self._journal.write(p.path, p.original.raw, p.new_bytes(), p.command)
        self.data.applied.append(entry.id)
        if p.rel in self.files:
            self.files[p.rel] = ChatFile(p.rel, p.after, self.engine.count_tokens(p.after), _stamp(p.path))
        self._map = None
        return entry

    def applied(self) -> list[JournalEntry]:
        by_id = {e.id: e for e in self._journal.entries()}
        return [by_id[i] for i in self.data.applied if i in by_id]

    def undo(self) -> JournalEntry:
        """Revert the last change this session applied, byte for byte."""
        entries = self.applied()
        if not entries:
            raise UsageError("nothing to undo in this session")
        entry = self._journal.restore(entries[-1])
        self.data.applied.remove(entry.id)
        self.refresh()
        self._map = None
        return entry

    def diffs(self) -> list[str]:
        """Unified diffs of what this session changed: each file from before its first change to now."""
        from coder_cli.core.patch import unified

        first: dict[str, JournalEntry] = {}
        for e in self.applied():
            first.setdefault(e.path, e)
        out = []
        for path_str, e in first.items():
            path = Path(path_str)
            try:
                before = decode(self._journal.pre_image(e), path).text
                now = read_text(path)
            except (UsageError, OSError):
                continue
            rel = path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else path_str
            if now.text != before:
                out.append(unified(rel, before, now.text, now.newline))
        return out


def open_session(
    store: SessionStore,
    home: Path,
    load: Callable[[str | None], Engine],
    settings,
    *,
    resume: bool,
    name: str | None,
    map_tokens: int,
    prewarm: bool,
    note: Callable[[str], None],
) -> ChatSession:
    """The session to run, its model loaded: the last one (RESUME), the one called NAME if it
    exists, else a new one (called NAME, or a fresh name). NOTE says what was restored."""
    from coder_cli.actions.chat_sessions import check_name, new_name

    data = None
    if resume:
        last = store.last()
        if last is None:
            raise UsageError(f"no earlier chat session for {store.root}", "start one with `coder chat`")
        data = store.load(last)
    elif name and store.path(check_name(name)).exists():
        data = store.load(name)
    session = ChatSession(
        store.root,
        home,
        load,
        reply_tokens=settings.max_tokens,
        map_budget=map_tokens,
        temperature=settings.temperature,
        seed=settings.seed,
        data=SessionData(name or new_name()),
        prewarm=prewarm,
    )
    session.start()
    if data is not None:
        for line in session.restore(data):
            note(line)
    return session


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


def _clip(text: str, n: int = 40) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"
