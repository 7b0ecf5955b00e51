"""Line repair for `coder fix`: mask one suspicious line at a time and let the model fill it back.

Small models echo a buggy function back when asked to rewrite it, but they are
good at fill-in-the-middle: shown the code above and below a hole, the 0.5B
model often writes the line the way it should be. Most bugs live on one line
(135 of the 164 HumanEvalFix bugs are a one-line change), so each line of the
failing unit becomes a hole in turn. Two kinds of candidates come from a hole:

- the fill: the model's greedy first line for the hole;
- alternatives: the original line read token by token under the same prompt
  (one batched pass); where the model's own choice beats the written token by
  a wide margin, that token is swapped for the model's choice and the line is
  finished greedily. ``count += 2`` -> ``count += 1`` is a typical one.

Fills are yielded as they are made (a pass ends the search early); alternatives,
ranked by the margin, come after every line has had its fill. Every candidate is
still verified by the caller against the real check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from coder_cli.core.fim_prompt import fim_layout
from coder_cli.engine import Engine, GenParams

PREFIX_LINES = 120  # the hole's window: lines shown above it
SUFFIX_LINES = 60  # and below it
MAX_HOLES = 60  # lines tried at most
LINE_TOKENS = 80  # a line longer than this is not a one-line fix
MIN_GAP = 1.0  # nats: how much likelier the model's token must be to try it instead
ALTERNATIVES_PER_LINE = 2

_SKIP = re.compile(
    r"""^\s*(
        $                                   # blank
      | (\#|//|--|/\*|\*)                   # comment
      | @                                   # decorator
      | (async\s+)?def\s | class\s          # a definition's own line
      | (import\s|from\s+\S+\s+import\s)    # imports (a missing one is the rewrite's job)
      | [{}()\[\];,]+\s*$                    # punctuation only
    )""",
    re.X,
)
_TRIPLE = re.compile(r'"""|\'\'\'')


@dataclass(frozen=True)
class LineCandidate:
    line: int  # 0-based line of the file
    text: str | None  # the new line without its newline; None deletes the line
    how: str  # "fill" or "alternative"
    gap: float = 0.0

    def describe(self) -> str:
        what = "deleted" if self.text is None else ("refilled" if self.how == "fill" else "changed")
        return f"line {self.line + 1} {what}"

    def apply(self, lines: list[str]) -> str:
        new = list(lines)
        if self.text is None:
            del new[self.line]
        else:
            new[self.line] = self.text
        return "\n".join(new)


def holes(lines: list[str], first: int, last: int, lang: str, start_with: list[int]) -> list[int]:
    """The lines worth masking in FIRST..LAST (0-based, inclusive): code lines, not definitions,
    comments, docstrings or imports; START_WITH (the failing lines) first."""
    in_doc = False
    code: list[int] = []
    for i in range(first, min(last, len(lines) - 1) + 1):
        text = lines[i]
        quotes = len(_TRIPLE.findall(text)) if lang == "python" else 0
        if in_doc or quotes:
            if quotes % 2:
                in_doc = not in_doc
            continue
        if _SKIP.match(text):
            continue
        code.append(i)
    front = [i for i in start_with if i in code]
    return (front + [i for i in code if i not in front])[:MAX_HOLES]


def candidates(engine: Engine, lines: list[str], order: list[int]) -> Iterator[LineCandidate]:
    """Fills for each hole in ORDER, then the alternatives of all holes by falling margin."""
    ids = engine.fim_tokens()
    if ids is None:
        return
    later: list[LineCandidate] = []
    for i in order:
        prompt = _prompt(engine, ids, lines, i)
        fill = _line(engine, prompt)
        yield LineCandidate(i, fill if fill.strip() else None, "fill")
        original = engine.tokenize(lines[i] + "\n")
        if len(original) > LINE_TOKENS:
            continue
        scores = engine.score(prompt, original)
        ranked = sorted(((s.gap, j, s.best) for j, s in enumerate(scores) if s.gap >= MIN_GAP), reverse=True)[
            :ALTERNATIVES_PER_LINE
        ]
        for gap, j, best in ranked:
            later.append(LineCandidate(i, _alternative(engine, prompt, original[:j], best), "alternative", gap))
    later.sort(key=lambda c: -c.gap)
    yield from later


def _prompt(engine: Engine, ids, lines: list[str], i: int) -> list[int]:
    prefix = "".join(ln + "\n" for ln in lines[max(0, i - PREFIX_LINES) : i])
    suffix = "".join("\n" + ln for ln in lines[i + 1 : i + 1 + SUFFIX_LINES])
    return fim_layout(engine.tokenize, ids, prefix, suffix)


def _line(engine: Engine, tokens: list[int]) -> str:
    """The model's greedy text up to the end of the line."""
    gen = engine.complete(tokens, GenParams(max_tokens=LINE_TOKENS, temperature=0.0, stop=("\n",)))
    try:
        return gen.text().split("\n")[0].rstrip()
    finally:
        gen.close()


def _alternative(engine: Engine, prompt: list[int], head: list[int], best: int) -> str | None:
    """The line with the model's token BEST after HEAD, finished greedily; None when the model
    would end the hole before the line starts (it wants the line gone)."""
    if engine.is_eog(best):
        text = engine.detokenize(head)
        return text.rstrip() if text.strip() else None
    text = engine.detokenize([*head, best])
    if "\n" in text:
        text = text.split("\n")[0]
        return text.rstrip() if text.strip() else None
    return (text + _line(engine, [*prompt, *head, best])).rstrip()
