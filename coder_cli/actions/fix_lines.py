"""Line repair for `coder fix`: mask one suspicious line at a time and let the model fill it back.

Small models echo a buggy function back when asked to rewrite it, but they are
good at fill-in-the-middle: shown the code above and below a hole, the 0.5B
model often writes the line the way it should be. Most bugs live on one line
(135 of the 164 HumanEvalFix bugs are a one-line change), so each line of the
failing unit becomes a hole in turn. The candidates of a hole:

- the fill: the model's greedy first line for the hole, yielded at once (a pass
  ends the search early);
- alternatives: where the model's own token beats the written one by a wide
  margin, that token swapped in and the line finished greedily
  (``count += 2`` -> ``count += 1``);
- edits: the small changes of `core.line_edits` (a comparison flipped, a ``+ 1``
  dropped, ``=`` for ``+=``, a value wrapped in a call, a condition negated ...);
- the line deleted; and after the first holes, a line inserted below them (the
  model's fill of an empty hole there).

Everything but the fills is ranked on one scale: how much likelier the model
finds the changed line (to the end of the hole) than the written one, in nats.
A candidate far likelier than the written line (EAGER_GAP) is as strong a
guess as the fill and is checked right after it; the rest wait for the ranking
of every hole.
Scoring is teacher-forced and cheap: one pass over the written line rates the
first changed token of every edit, and only the best few edits per line (and
of each kind the best at two places of the line) are rated to the end. Small
models rank well even where they generate badly. Every candidate is still
verified by the caller against the real check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from coder_cli.core import line_edits
from coder_cli.core.fim_prompt import fim_layout
from coder_cli.engine import Engine, GenParams
from coder_cli.engine.base import common_prefix, eog_ids

PREFIX_LINES = 120  # the hole's window: lines shown above it
SUFFIX_LINES = 60  # and below it
MAX_HOLES = 60  # lines tried at most
LINE_TOKENS = 80  # a line longer than this is not a one-line fix
MIN_GAP = 1.0  # nats: how much likelier the model's token must be to try it instead
ALTERNATIVES_PER_LINE = 2
EDITS_PER_LINE = 4  # edits of one line rated to the end (the best by their first changed token)
EDITS_PER_KIND = 2  # and at most this many more of each kind of edit (see _rated)
INSERT_AFTER = 6  # the first holes get a hole for a missing line below them
EAGER_GAP = 2.0  # nats: a candidate this much likelier than the written line is checked beside the fill
MIN_RANKED_GAP = -8.0  # nats: a ranked candidate the model finds this much less likely is not checked

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
    line: int  # 0-based line of the file (for an insertion: the new line's index)
    text: str | None  # the new line(s) without the final newline; None deletes the line
    how: str  # "fill", "alternative", "deletion", "insertion", or the kind of edit ("comparison", ...)
    gap: float = 0.0  # how much likelier the model finds it than the written line, in nats

    def describe(self) -> str:
        if self.how == "insertion":
            return f"line inserted before line {self.line + 1}" if self.line else "line inserted at the top"
        if self.text is None:
            return f"line {self.line + 1} deleted"
        if self.how in ("fill", "alternative"):
            return f"line {self.line + 1} {'refilled' if self.how == 'fill' else 'changed'}"
        return f"line {self.line + 1} edited ({self.how})"

    def apply(self, lines: list[str]) -> str:
        new = list(lines)
        if self.how == "insertion":
            new[self.line : self.line] = (self.text or "").split("\n")
        elif self.text is None:
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


def candidates(
    engine: Engine, lines: list[str], order: list[int], lang: str = "", names: tuple[str, ...] = ()
) -> Iterator[LineCandidate]:
    """For each hole in ORDER its fill and its far likelier edits, then everything else by falling gap
    (see the module's text).
    LANG picks the edits; NAMES are the functions in scope a value may be wrapped in."""
    ids = engine.fim_tokens()
    if ids is None:
        return
    # A server that gives no logits (a generic one, FIM as text): each hole's fill alone.
    scores = getattr(engine, "scores", True)
    ends, empty = _end_ids(engine) if scores else ([], [])
    source = "\n".join(lines)
    later: list[LineCandidate] = []
    for i in order:
        prompt = _prompt(engine, ids, lines, i)
        fill = _line(engine, prompt)
        yield LineCandidate(i, fill if fill.strip() else None, "fill")
        if not scores:
            continue
        original = engine.tokenize(lines[i])
        if len(original) > LINE_TOKENS:
            continue
        edits = [(e.text, e.kind) for e in line_edits.edits(source, i, lang, names)]
        rated = sorted(_rated(engine, prompt, i, original, edits, ends, empty), key=lambda c: -c.gap)
        yield from (c for c in rated if c.gap >= EAGER_GAP)  # as strong as a fill: no need to wait
        later += [c for c in rated if c.gap < EAGER_GAP]
    if not scores:
        return
    for i in order[:INSERT_AFTER]:
        later += _insertion(engine, ids, lines, i + 1, ends, empty)
    later.sort(key=lambda c: -c.gap)
    yield from (c for c in later if c.gap >= MIN_RANKED_GAP)


def _rated(engine: Engine, prompt: list[int], i: int, original: list[int], edits, ends, empty) -> list[LineCandidate]:
    """Alternatives, the deletion and the best EDITS of line I, each with its gap over the line.
    ENDS: the tokens that end a line's fill; EMPTY: those that end a fill with nothing in it."""
    n = len(original)
    edit_tokens = [(text, kind, engine.tokenize(text)) for text, kind in edits]
    wanted: dict[int, list[int]] = {0: list(empty), n: list(ends)}
    firsts = []  # (text, kind, tokens, where they part from the line, their first token there)
    for text, kind, toks in edit_tokens:
        j = common_prefix(toks, original)
        if j == len(toks):
            continue  # the line cut short: not an edit the operators make
        wanted.setdefault(j, [])
        if toks[j] not in wanted[j]:
            wanted[j].append(toks[j])
        firsts.append((text, kind, toks, j, toks[j]))
    scores = engine.score(prompt, original, wanted)
    if len(scores) != n + 1:
        return []
    written = [s.logprob for s in scores[:n]]
    end_at = {0: _logsumexp(scores[0].probes[: len(empty)]), n: _logsumexp(scores[n].probes[: len(ends)])}
    tail = [sum(written[j:]) + end_at[n] for j in range(n + 1)]  # the line's own score from token j on

    def first_gap(j: int, first: int) -> float:
        got = scores[j].probes[wanted[j].index(first)]
        return got - (written[j] if j < n else end_at[n])

    out = [LineCandidate(i, None, "deletion", end_at[0] - tail[0])]
    ranked = [(s.gap, j, s.best) for j, s in enumerate(scores[:n]) if s.gap >= MIN_GAP]
    after = scores[n]  # the model may want the line to go on where it ends (`return x` + ` + 1`)
    if after.best not in ends and after.best_logprob - end_at[n] >= MIN_GAP:
        ranked.append((after.best_logprob - end_at[n], n, after.best))
    for _, j, best in sorted(ranked, reverse=True)[:ALTERNATIVES_PER_LINE]:
        text = _alternative(engine, prompt, original[:j], best)
        if text is not None:
            firsts.append((text, "alternative", engine.tokenize(text), j, best))
    by_first = sorted((f for f in firsts if f[1] != "alternative"), key=lambda f: -first_gap(f[3], f[4]))
    picked = by_first[:EDITS_PER_LINE]
    # ... and of every kind the best EDITS_PER_KIND, each changing the line at another token: a
    # first token misleads (`arr[:k]` ranks low on its `[`, and so does every other slice).
    places = {(f[1], f[3]) for f in picked}
    for f in by_first[EDITS_PER_LINE:]:
        if (f[1], f[3]) not in places and sum(k == f[1] for k, _ in places) < EDITS_PER_KIND:
            places.add((f[1], f[3]))
            picked.append(f)
    picked += [f for f in firsts if f[1] == "alternative"]
    for text, kind, toks, j, _ in picked:
        total = _to_the_end(engine, [*prompt, *original[:j]], toks[j:], ends)
        if total is not None:
            out.append(LineCandidate(i, text, kind, total - tail[j]))
    return out


def _to_the_end(engine: Engine, prompt: list[int], toks: list[int], ends, start: list[int] | None = None):
    """The log-probability of TOKS after PROMPT and then the hole ending (one of ENDS); with START,
    less that of the hole ending at once (one of START) instead. None when the engine cannot say."""
    probes = {len(toks): list(ends)}
    if start is not None:
        probes[0] = list(start)
    rated = engine.score(prompt, toks, probes)
    if len(rated) != len(toks) + 1:
        return None
    total = sum(s.logprob for s in rated[: len(toks)]) + _logsumexp(rated[-1].probes)
    return total - _logsumexp(rated[0].probes) if start is not None else total


def _insertion(engine: Engine, ids, lines: list[str], at: int, ends, empty) -> list[LineCandidate]:
    """The model's fill of an empty hole before line AT (one line, or an opener and its first
    line), rated against leaving the hole empty."""
    prompt = _prompt(engine, ids, lines, at, replaced=0)
    gen = engine.complete(prompt, GenParams(max_tokens=2 * LINE_TOKENS, temperature=0.0))
    text = ""
    try:
        for piece in gen:
            text += piece
            done = text.split("\n")
            if len(done) > 2 or (len(done) == 2 and not done[0].rstrip().endswith(":")):
                break
    finally:
        gen.close()
    kept = text.split("\n")
    kept = kept[:2] if kept[0].rstrip().endswith(":") else kept[:1]
    new = "\n".join(ln.rstrip() for ln in kept)
    if not new.strip():
        return []
    gap = _to_the_end(engine, prompt, engine.tokenize(new), ends, start=empty)
    return [] if gap is None else [LineCandidate(at, new, "insertion", gap)]


def _end_ids(engine: Engine) -> tuple[list[int], list[int]]:
    """The tokens that end a one-line fill: every end-of-generation token of the vocabulary, and the
    newline (the hole's suffix starts with one, yet Qwen2.5-Coder writes its own first: after a
    finished line it gives "\n" about 0.96 and the end token about 0.001); and those that end an
    empty fill, which ends at once, without a newline: the end-of-generation tokens alone."""
    eog = eog_ids(engine)
    return eog + [t for t in engine.tokenize("\n") if t not in eog], eog


def _logsumexp(values: Sequence[float]) -> float:
    if not values:
        return -math.inf
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _prompt(engine: Engine, ids, lines: list[str], i: int, replaced: int = 1) -> list[int]:
    """The FIM prompt for a hole at line I that stands for REPLACED lines (0: a new line before I)."""
    prefix = "".join(ln + "\n" for ln in lines[max(0, i - PREFIX_LINES) : i])
    suffix = "".join("\n" + ln for ln in lines[i + replaced : i + replaced + SUFFIX_LINES])
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
