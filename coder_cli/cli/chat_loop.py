"""The `coder chat` loop: read a message or a slash command, call the session (`actions.chat`), show the answer."""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable
from pathlib import Path

from coder_cli.errors import CoderError, Interrupted, UsageError

COMMANDS: dict[str, tuple[str, str]] = {
    "/add": ("FILE…", "add files to the context"),
    "/drop": ("FILE…", "take files out of the context"),
    "/files": ("", "the files in the context, in tokens"),
    "/map": ("", "the repository map the model sees"),
    "/tokens": ("", "the context budget, part by part"),
    "/clear": ("", "forget the conversation (the files stay)"),
    "/undo": ("", "revert the last change this session applied"),
    "/diff": ("", "what this session changed"),
    "/run": ("CMD", "run a shell command (after a yes); its output joins your next message"),
    "/test": ("CMD", "run a check; when it fails, offer the `fix` loop"),
    "/model": ("ID", "switch the model; the conversation stays"),
    "/save": ("NAME", "save the session as NAME"),
    "/load": ("NAME", "load a saved session"),
    "/sessions": ("", "the saved sessions of this repository"),
    "/help": ("", "this list"),
    "/exit": ("", "leave (Ctrl-D works too)"),
}


AUTO_TEST_MESSAGE = (
    "The check above fails after your change. Change the code of the files in the chat so that it passes; "
    "the tests are right as they are."
)


def suggest(word: str) -> str | None:
    close = difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.5)
    return close[0] if close else None


class ChatLoop:
    def __init__(self, rt, session, store, *, yes: bool, interactive: bool, cwd: Path, test: str | None = None) -> None:
        self.rt, self.session, self.store = rt, session, store
        self.env, self.diag = rt.env, rt.diag
        self.yes = yes
        self.interactive = interactive
        self.cwd = cwd
        self.test = test  # --test: run after each turn that applied a change
        self.prompt = None
        self.script = False  # run_script: the turns come from the command line
        self._bar = ""
        self.applied = self.not_applied = 0  # proposed changes, for the one-shot exit code
        self.test_ok: bool | None = None  # the last --test run (None: not run yet)

    # -- input -------------------------------------------------------------------------
    def run(self) -> int:
        if self.interactive:
            self._make_prompt()
        try:
            while True:
                try:
                    text = self._read()
                except EOFError:
                    break
                except (KeyboardInterrupt, Interrupted):
                    continue  # Ctrl-C at the prompt clears the line
                if text is None:
                    break
                if not text.strip():
                    continue
                try:
                    if not self.handle(text.strip("\n")):
                        break
                    self.store.save(self.session.data)
                    if self.interactive:
                        self._refresh()
                except (KeyboardInterrupt, Interrupted):
                    self.diag.note("cancelled")
                except CoderError as exc:
                    self.diag.error(exc.message, exc.hint)
                except Exception as exc:  # noqa: BLE001 - a bug in one message must not end the session
                    self.diag.error(f"internal error: {type(exc).__name__}: {exc}", "the session goes on; please report it")
        finally:
            self.store.save(self.session.data)
        return 0

    def run_script(self, messages: list[str]) -> int:
        """One-shot: each of MESSAGES as a turn (a slash command is run as one), then --test when no
        turn ran it. Exit code: 4 when --test fails at the end, 1 when a proposed change was not
        applied (refused, declined, or nobody to ask without --yes), else 0. Errors end the run."""
        self.script = True
        try:
            for text in messages:
                if not self.handle(text.strip("\n")):
                    break
                self.store.save(self.session.data)
            if self.test and self.test_ok is None:
                self.auto_test(retry=True)
        finally:
            self.store.save(self.session.data)
        if self.test and not self.test_ok:
            return 4
        return 1 if self.not_applied else 0

    def _read(self) -> str | None:
        if self.prompt is not None:
            return self.prompt.read()
        line = self.env.stdin.readline()
        return None if line == "" else line.rstrip("\n")

    def _make_prompt(self) -> None:
        from coder_cli.ui.repl import ChatCompleter, ChatPrompt

        files_cache: list[str] = []

        def repo_files() -> list[str]:
            if not files_cache:
                from coder_cli.context.repo_files import all_files

                files_cache.extend(all_files(self.session.root))
            return files_cache

        def models() -> list[str]:
            from coder_cli import manifest

            return [n for m in manifest.load_all() for n in (m.id, *m.aliases)]

        arguments: dict[str, Callable[[], list[str]]] = {
            "/add": repo_files,
            "/drop": lambda: list(self.session.files),
            "/load": lambda: [n for n, *_ in self.store.list()],
            "/model": models,
        }
        completer = ChatCompleter({k: v[1] for k, v in COMMANDS.items()}, arguments)
        self.prompt = ChatPrompt(self.rt.home / "history" / "chat", completer, self._toolbar)
        self._refresh()

    def _refresh(self) -> None:
        """Recompute the toolbar and start reading the known context while the user types."""
        s = self.session
        b = s.budget()
        names = ", ".join(Path(r).name for r in s.files) or "none (add with /add)"
        self._bar = f" {s.engine.info.model} · context {b.total:,}/{b.n_ctx - b.reply:,} tokens · files: {names}"
        s.start_prewarm()

    def _toolbar(self) -> str:
        state = " · reading context…" if self.session.prewarm.running else ""
        return self._bar + state

    # -- dispatch ------------------------------------------------------------------------
    def handle(self, text: str) -> bool:
        """Answer one message or command; False ends the session."""
        if text.startswith("/") and not text.startswith("//"):
            word, _, arg = text.partition(" ")
            word = word.lower()
            word = {"/quit": "/exit", "/q": "/exit"}.get(word, word)
            if word not in COMMANDS:
                hint = suggest(word)
                raise UsageError(f"unknown command {word}", f"did you mean {hint}?" if hint else "see /help")
            if word == "/exit":
                return False
            getattr(self, "cmd_" + word[1:])(arg.strip())
            return True
        self.turn(text[1:] if text.startswith("//") else text)
        return True

    def out(self, text: str) -> None:
        self.env.stdout.write(text if text.endswith("\n") else text + "\n")
        self.env.stdout.flush()

    # -- a turn --------------------------------------------------------------------------
    def turn(self, question: str, retry: bool = True) -> None:
        from coder_cli.ui.stream import make_sink

        sink = make_sink(self.env)
        try:
            result = self.session.ask(question, sink.write)
        finally:
            sink.close()
        for note in result.notes:
            self.diag.note(note)
        st = result.stats
        if result.interrupted:
            self.diag.note("interrupted; the reply was not kept")
            return
        if self.interactive:
            rate = f" at {st.tokens_per_s:.0f}/s" if st.tokens_per_s > 0 else ""  # no rate from one piece
            self.diag.note(
                f"{st.prompt_tokens:,} prompt tokens ({st.cached_tokens:,} cached) · first token {st.prompt_s:.2f} s · "
                f"{st.completion_tokens} tokens{rate}"
            )
        applied = False
        for edit in result.edits:
            applied = self.offer(edit) or applied
        if applied and self.test:
            self.auto_test(retry)

    def auto_test(self, retry: bool) -> None:
        """--test after a change: run it; when it fails and RETRY, one more turn with its output
        (as Aider's --auto-test does), which runs it again without a further retry."""
        code, output = self.session.shell(self.test)
        self.test_ok = code == 0
        if self.test_ok:
            self.diag.note(f"`{self.test}` passes")
            return
        last = next((ln for ln in reversed(output.splitlines()) if ln.strip()), "(no output)")
        if not retry:
            self.diag.warn(f"`{self.test}` still fails (exit code {code}): {last.strip()}")
            return
        self.diag.note(f"`{self.test}` fails (exit code {code}): {last.strip()}; one more turn with its output")
        self.session.attach(self.test, code, output)
        before = self.applied
        self.turn(AUTO_TEST_MESSAGE, retry=False)
        if self.applied == before:
            self.diag.warn(f"`{self.test}` still fails: the turn with its output changed nothing")

    def offer(self, edit) -> bool:
        """The one write path (`actions.proposal`), with the chat's consent: the diff always shown,
        the prompt's y/N, "applied", /undo. True when the change was written."""
        from coder_cli.actions.proposal import Outcome, apply
        from coder_cli.fs.atomic_write import WriteRefused

        # a session: its prompt's y/N; one-shot: the terminal's y/N when there is one; a pipe: nobody
        ask = {"ask": self.prompt.confirm} if self.prompt is not None else {} if self.script else {"ask": None}
        consent = self.rt.consent(
            yes=self.yes,
            **ask,
            pipe=None,
            words="apply",
            undo_hint="/undo reverts it",
            no_terminal_hint="start the chat with --yes to apply changes",
        )
        try:
            outcome = apply(self.session.proposal(edit), consent, self.session.write)
        except WriteRefused as exc:
            self.diag.warn(exc.message)
            self.not_applied += 1
            return False
        if outcome is Outcome.WRITTEN:
            self.applied += 1
            return True
        if outcome is not Outcome.UNCHANGED:
            self.not_applied += 1
        return False

    # -- commands ------------------------------------------------------------------------
    def _words(self, arg: str, what: str) -> list[str]:
        try:
            words = shlex.split(arg)
        except ValueError as exc:
            raise UsageError(f"cannot read the arguments: {exc}") from None
        if not words:
            raise UsageError(f"name {what}", "for example: /add src/app.py")
        return words

    def cmd_add(self, arg: str) -> None:
        for name in self._words(arg, "the files to add"):
            try:
                f = self.session.add(name, self.cwd)
            except UsageError as exc:
                self.diag.error(exc.message, exc.hint)
                continue
            self.diag.note(f"added {f.rel} ({f.tokens:,} tokens)")

    def cmd_drop(self, arg: str) -> None:
        for name in self._words(arg, "the files to drop"):
            self.diag.note(f"dropped {self.session.drop(name)}")

    def cmd_files(self, arg: str) -> None:
        if not self.session.files:
            self.out("no files in the chat (add some with /add FILE)")
        for f in self.session.files.values():
            self.out(f"{f.rel}  {f.tokens:,} tokens")

    def cmd_map(self, arg: str) -> None:
        text = self.session.repo_map()
        self.out(text or "the repository map is empty (no other source files, or --map-tokens 0)")

    def cmd_tokens(self, arg: str) -> None:
        b = self.session.budget()
        rows = [
            *b.parts,
            ("whole prompt now (exact, template included)", b.total),
            ("kept for the reply", b.reply),
            ("free", b.free),
            ("context window", b.n_ctx),
        ]
        width = max(len(label) for label, _ in rows) + 2
        for i, (label, n) in enumerate(rows):
            if i == len(b.parts):
                self.out("-" * (width + 8))
            self.out(f"{label:<{width}}{n:>8,}")

    def cmd_clear(self, arg: str) -> None:
        self.diag.note(f"forgot {self.session.clear()} turn(s); the files stay")

    def cmd_undo(self, arg: str) -> None:
        entry = self.session.undo()
        self.diag.note(f"restored {entry.path}")

    def cmd_diff(self, arg: str) -> None:
        from coder_cli.ui.confirm import show_diff

        diffs = self.session.diffs()
        if not diffs:
            self.out("this session has changed nothing (or every change was undone)")
        for patch in diffs:
            show_diff(self.env, patch)

    def _confirm(self, question: str) -> bool:
        if self.yes:
            return True
        if self.interactive:
            return self.prompt.confirm(question)
        self.diag.note("not run: no terminal to ask; start the chat with --yes to allow /run and /test")
        return False

    def _asked_shell(self, command: str, what: str, example: str) -> tuple[int, str] | None:
        """Run COMMAND after a yes (None when not run)."""
        if not command:
            raise UsageError(f"name the {what}", f"for example: {example}")
        if not self._confirm(f"Run `{command}` in {self.session.root}?"):
            return None
        return self.session.shell(command)

    def cmd_run(self, arg: str) -> None:
        ran = self._asked_shell(arg, "command", "/run git status")
        if ran is None:
            return
        code, output = ran
        self.out(output.rstrip("\n") or "(no output)")
        self.session.attach(arg, code, output)
        self.diag.note(f"exit code {code}; the output joins your next message")

    def cmd_test(self, arg: str) -> None:
        from coder_cli.actions.chat import OUTPUT_CHARS

        ran = self._asked_shell(arg, "check", "/test pytest -x")
        if ran is None:
            return
        code, output = ran
        self.out(output.rstrip("\n")[-OUTPUT_CHARS:] or "(no output)")
        if code == 0:
            self.diag.note("the check passes")
            return
        self.session.attach(arg, code, output)
        target = self.session.failing_file(output)
        if target is None:
            self.diag.note(f"the check fails (exit code {code}); /add the file to fix, then /test again")
            return
        if not (self.yes or (self.interactive and self.prompt.confirm(f"The check fails. Try to fix {target}?"))):
            self.diag.note("the output joins your next message")
            return
        result = self.session.fix(target, arg, self.diag.note)
        if result.already_passing:
            self.diag.note("the check passes now")
        elif result.fixed is None:
            self.diag.warn(f"could not fix {target} ({len(result.attempts)} candidate(s) tried)")
        else:
            from coder_cli.actions.chat_edits import Edit

            self.offer(Edit(target, result.original.text, result.fixed, "the fix that passes the check"))

    def cmd_model(self, arg: str) -> None:
        if not arg:
            self.out(self.session.engine.info.model)
            return
        self.diag.note(f"now using {self.session.switch_model(arg)}")

    def cmd_save(self, arg: str) -> None:
        from coder_cli.actions.chat_sessions import check_name

        if arg and arg != self.session.data.name:
            if self.store.path(check_name(arg)).exists():
                raise UsageError(f"a session named {arg} exists already", "choose another name, or /load it")
            self.session.data.name = arg
        self.diag.note(f"saved as {self.session.data.name}: {self.store.save(self.session.data, force=True)}")

    def cmd_load(self, arg: str) -> None:
        if not arg:
            raise UsageError("name the session to load", "see /sessions")
        for note in self.session.restore(self.store.load(arg)):
            self.diag.note(note)

    def cmd_sessions(self, arg: str) -> None:
        import time

        rows = self.store.list()
        if not rows:
            self.out("no saved sessions for this repository")
        for name, saved, turns, files in rows:
            mark = "*" if name == self.session.data.name else " "
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(saved))
            self.out(f"{mark} {name}  {when}  {turns} turn(s), {files} file(s)")

    def cmd_help(self, arg: str) -> None:
        width = max(len(f"{k} {v[0]}") for k, v in COMMANDS.items()) + 2
        for name, (args, text) in COMMANDS.items():
            self.out(f"{(name + ' ' + args).strip():<{width}}{text}")
        self.out(
            "Enter sends; Alt-Enter starts a new line; Ctrl-C stops a reply; Ctrl-D leaves. A line starting with // sends /."
        )
