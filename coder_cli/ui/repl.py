"""The chat prompt on a terminal (prompt_toolkit): history, multiline input, completion, a toolbar.

Enter sends; Alt-Enter (or Esc then Enter) starts a new line; a paste keeps its newlines.
Ctrl-C clears the line; Ctrl-D on an empty line ends the session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


class ChatCompleter:
    """Slash commands, then their arguments: repository files, files in the chat, sessions, models."""

    def __init__(self, commands: dict[str, str], arguments: dict[str, Callable[[], list[str]]]) -> None:
        from prompt_toolkit.completion import Completer, Completion

        outer = self

        class _Impl(Completer):
            def get_completions(self, document, complete_event):
                yield from outer.complete(document.text_before_cursor, Completion)

        self.commands = commands
        self.arguments = arguments
        self.impl = _Impl()

    def complete(self, text: str, make):
        if not text.startswith("/") or "\n" in text:
            return
        if " " not in text:
            for name, help_text in self.commands.items():
                if name.startswith(text):
                    yield make(name, start_position=-len(text), display_meta=help_text)
            return
        command, _, rest = text.partition(" ")
        source = self.arguments.get(command)
        if source is None:
            return
        word = rest.rsplit(" ", 1)[-1]
        for value in source():
            if value.startswith(word) or (word and "/" not in word and Path(value).name.startswith(word)):
                yield make(value, start_position=-len(word))


class ChatPrompt:
    """Reads one message at a time; raises EOFError on Ctrl-D and KeyboardInterrupt on Ctrl-C."""

    def __init__(self, history: Path, completer: ChatCompleter, toolbar: Callable[[], str]) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.key_binding import KeyBindings

        history.parent.mkdir(parents=True, exist_ok=True)
        keys = KeyBindings()

        @keys.add("escape", "enter")
        def _newline(event) -> None:
            event.current_buffer.insert_text("\n")

        self._toolbar = toolbar
        self.session = PromptSession(
            history=FileHistory(str(history)),
            completer=completer.impl,
            complete_while_typing=True,
            key_bindings=keys,
            bottom_toolbar=self._bar,
            refresh_interval=0.5,
            prompt_continuation=lambda width, line, wrap: "." * (width - 1) + " ",
        )
        self._confirm = PromptSession()

    def _bar(self):
        from prompt_toolkit.formatted_text import to_formatted_text

        return to_formatted_text(self._toolbar())

    def read(self) -> str:
        return self.session.prompt("> ")

    def confirm(self, question: str) -> bool:
        """y/yes is yes; anything else, Ctrl-C and Ctrl-D are no."""
        try:
            answer = self._confirm.prompt(f"{question} [y/N] ")
        except (EOFError, KeyboardInterrupt):
            return False
        return answer.strip().lower() in {"y", "yes"}
