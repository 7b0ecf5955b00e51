"""Extract the code of fenced code blocks from a Markdown reply, as it streams."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@dataclass
class CodeExtractor:
    """Feed reply text; get back only the code inside fenced blocks.

    Works on whole lines, so a closing fence is never half-printed. When the
    reply has no fenced block at all, ``finish`` returns the whole reply (small
    models sometimes answer with bare code).
    """

    _line: str = ""
    _fence: str | None = None
    _indent: int = 0
    _blocks: int = 0
    _raw: list[str] = field(default_factory=list)

    def feed(self, text: str) -> str:
        self._raw.append(text)
        self._line += text
        out = []
        while "\n" in self._line:
            line, self._line = self._line.split("\n", 1)
            out.append(self._take(line))
        return "".join(out)

    def _take(self, line: str) -> str:
        stripped = line.rstrip()
        match = _FENCE.match(stripped)
        if self._fence is None:
            if match and not (match["fence"][0] == "`" and "`" in match["info"]):
                self._fence = match["fence"]
                self._indent = len(match["indent"])
                sep = "\n" if self._blocks else ""
                self._blocks += 1
                return sep
            return ""
        closes = match and match["fence"][0] == self._fence[0] and len(match["fence"]) >= len(self._fence)
        if closes and not match["info"].strip():
            self._fence = None
            return ""
        if self._indent and line[: self._indent].strip() == "":
            line = line[self._indent :]
        return line + "\n"

    def finish(self) -> str:
        """The rest: a last unterminated line inside a block, or the whole reply if no block."""
        rest = ""
        if self._line:
            line, self._line = self._line, ""
            if self._fence is not None:
                rest = self._take(line)
            elif self._blocks:
                self._take(line)
        if self._blocks == 0:
            whole = "".join(self._raw).strip("\n")
            return whole + "\n" if whole else ""
        return rest

    @property
    def found_blocks(self) -> int:
        return self._blocks


def extract_code(text: str) -> str:
    """The code of every fenced block in TEXT, or TEXT itself when it has none."""
    ex = CodeExtractor()
    return ex.feed(text) + ex.finish()


def fence(text: str, info: str = "") -> str:
    """TEXT in a fenced block whose fence is longer than any backtick run inside it."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{ticks}{info}\n{body}{ticks}"
