"""`coder complete`: fill-in-the-middle at a position or at `<FILL>` markers, once or as a stream.

One ``Completer`` holds the loaded model, the repository indexes and the token
counts between requests, so an editor talking to ``--stdin-json`` pays for the
model once and, thanks to the engine's prefix reuse, only for the new tokens of
each request: the prompt is laid out so that nearby cursors share its head
(cross-file context by blocks of lines, the prefix window moving in jumps).
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from coder_cli.config import project_root
from coder_cli.core.fim_post import MODES, Cursor, auto_indent, choose_mode, cursor, done, finish
from coder_cli.core.fim_prompt import MARKER, fim_layout, prefix_window, split_keep, suffix_window
from coder_cli.engine import Engine, GenParams, GenStats
from coder_cli.engine.usage import usage_timing
from coder_cli.errors import ModelError, UsageError
from coder_cli.fs.text_file import read_text

CONTEXT_TOKENS = 1024  # cross-file context (the --budget default on the CPU)
PREFIX_TOKENS = 1024  # the code above the cursor
SUFFIX_TOKENS = 256  # the code below it: read again on every request (see fim_cursor.py for why 256)
MAX_TOKENS = {"line": 96, "block": 320}
CANDIDATES = 3  # the greedy fill, then samples when a fill breaks the parse
SAMPLE_TEMPERATURE = 0.6
RESCAN_S = 30.0  # how often a long-running completer looks at the work tree again
COUNT_CACHE = 20_000


@dataclass(frozen=True)
class FillRequest:
    path: Path  # absolute
    prefix: str
    suffix: str
    mode: str = "auto"
    # Context chunks the client chose itself ((name, text), oldest first: llama.vim's ring buffer,
    # an editor's open buffers), shown after the repository's own within the same token budget.
    extra: tuple[tuple[str, str], ...] = ()
    own_context: bool = True  # False: PATH is only a name (a client that sent no file): no repository context
    max_tokens: int | None = None  # the client's cap, below the mode's own
    time_limit: float | None = None  # seconds of generation after which the fill ends at its next line break


class Cancelled(Exception):
    """A fill given up because its client no longer wants it (a newer keystroke)."""


@dataclass
class Fill:
    completion: str
    mode: str  # the mode used: line or block
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    prompt_s: float = 0.0  # summed over the generations (candidates)
    generate_s: float = 0.0
    candidates: int = 0  # generations tried
    parses: bool | None = None  # None: no parser for the language
    note: str | None = None
    context: list[str] = field(default_factory=list)  # the files shown as context
    cached: bool = False  # answered from the completion cache

    def as_dict(self) -> dict:
        """The fill's JSON: usage and timing in the shape of `engine.usage`; ``timing_ms`` and
        ``tokens`` are the older shape, kept as aliases for one release (editors read them)."""
        stats = GenStats(self.prompt_tokens, self.cached_tokens, self.completion_tokens, self.prompt_s, self.generate_s)
        return {
            "completion": self.completion,
            **usage_timing(stats, total_s=self.seconds),
            "timing_ms": round(self.seconds * 1000, 1),
            "tokens": {
                "prompt": self.prompt_tokens,
                "cached": self.cached_tokens,
                "generated": self.completion_tokens,
            },
            "mode": self.mode,
            "candidates": self.candidates,
            "parses": self.parses,
            "context": self.context,
            "cached": self.cached,
            "note": self.note,
        }


class _Repo:
    """A repository's index, scanned again when it is older than RESCAN_S."""

    def __init__(self, root: Path, home: Path) -> None:
        self.root, self.home = root, home
        self.index = None
        self.changed: list[str] = []
        self.at = 0.0

    def current(self):
        from coder_cli.context.crossfile import changed_files
        from coder_cli.context.repomap import RepoIndex

        if self.index is None or time.monotonic() - self.at > RESCAN_S:
            if self.index is not None:
                self.index.close()
            self.index = RepoIndex(self.root, self.home, time_budget=10)
            self.index.scan()
            self.changed = changed_files(self.root)
            self.at = time.monotonic()
        return self.index

    def close(self) -> None:
        if self.index is not None:
            self.index.close()


class Completer:
    def __init__(
        self,
        engine: Engine,
        home: Path,
        *,
        budget: int = CONTEXT_TOKENS,
        prefix_tokens: int = PREFIX_TOKENS,
        suffix_tokens: int = SUFFIX_TOKENS,
        candidates: int = CANDIDATES,
    ) -> None:
        self.engine = engine
        self.ids = engine.fim_tokens()
        if self.ids is None:
            if getattr(engine, "coder", True) is False:  # a remote server that does not share its tokenizer
                raise ModelError(
                    f"fill-in-the-middle needs token ids, which {engine.info.path} does not share",
                    "use `coder serve`, or run it here without --backend openai",
                )
            raise ModelError(
                f"{engine.info.model} has no fill-in-the-middle tokens", "use a Qwen2.5-Coder model (the default has them)"
            )
        self.home = home
        self.budget, self.prefix_tokens, self.suffix_tokens = budget, prefix_tokens, suffix_tokens
        self.candidates = candidates
        self._repos: dict[Path, _Repo] = {}
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._context_key: tuple | None = None
        self._context: list[tuple[str, str]] = []

    # -- prompt --------------------------------------------------------------------------
    def count(self, text: str) -> int:
        """Tokens of TEXT, remembered (lines repeat from request to request)."""
        n = self._counts.get(text)
        if n is None:
            n = self.engine.count_tokens(text)
            self._counts[text] = n
            if len(self._counts) > COUNT_CACHE:
                self._counts.popitem(last=False)
        return n

    def where(self, path: Path) -> tuple[Path, str]:
        """The repository root holding PATH and PATH relative to it (posix)."""
        folder = path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        root = project_root(folder)
        try:
            return root, path.resolve().relative_to(root).as_posix()
        except ValueError:
            return root, path.name

    def context(self, root: Path, rel: str, text: str, lang: str | None, line: int) -> list[tuple[str, str]]:
        """Cross-file context for REL at LINE. It is chosen from the file as saved (TEXT, the buffer,
        only for a file not saved yet): the buffer changes with every key, and a context that
        changed with it would change the prompt's head, which the engine then reads again whole."""
        if self.budget <= 0 or lang is None:
            return []
        from coder_cli.context import crossfile

        repo = self._repos.get(root)
        if repo is None:
            repo = self._repos[root] = _Repo(root, self.home)
        index = repo.current()
        try:
            saved = (root / rel).read_bytes()
            text = saved.decode("utf-8", "replace")
        except OSError:
            saved = None
        # Kept until the saved file changes (nearness is judged from the first cursor): a context
        # that changed as the cursor moved would make the engine read the whole prompt again
        # (measured: 1,587 tokens, 10 s, at a block boundary). A rescan of the repository (every
        # RESCAN_S) refreshes what the next new key will see, not the head now in use.
        key = (root, rel, hash(saved) if saved is not None else hash(text))
        if self._context_key != key:
            self._context = crossfile.select(index, rel, text, lang, line, self.budget, self.count, repo.changed)
            self._context_key = key
        return self._context

    def prompt(self, req: FillRequest) -> tuple[list[int], list[str]]:
        """The token sequence for REQ and the context files it shows."""
        from coder_cli.core.languages import language_for

        if req.own_context:
            root, rel = self.where(req.path)
            lang = language_for(rel, req.prefix[:256].encode("utf-8"))
            files = self.context(root, rel, req.prefix + req.suffix, lang, req.prefix.count("\n"))
        else:
            root, rel, files = Path("repo"), req.path.name, []
        if req.extra:
            files = files + self._extra(req.extra)
        above = split_keep(req.prefix)
        above = above[prefix_window(above, self.prefix_tokens, self.count) :]
        below = split_keep(req.suffix)
        below = below[: suffix_window(below, self.suffix_tokens, self.count)]
        # The repository-level layout only when there are other files to show: on HumanEval
        # single-line infilling (50-task sample) the 0.5B instruct model filled 29 lines right
        # with the bare layout, 24 with just the file's path in front and 20 with the repository
        # name too (benchmarks/results/fim-layout-*.txt).
        tokens = fim_layout(
            self.engine.tokenize,
            self.ids,
            "".join(above),
            "".join(below),
            repo=(root.name or "repo") if files else None,
            path=rel,
            context_files=files,
        )
        return tokens, [p for p, _ in files]

    def _extra(self, chunks: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
        """The client's chunks that fit the context budget, the newest (last) first in, kept in
        their order."""
        kept: list[tuple[str, str]] = []
        left = self.budget
        for name, text in reversed(chunks):
            if not text.strip():
                continue
            n = self.count(text) + 4
            if n > left:
                break
            kept.append((name or "untitled", text))
            left -= n
        return kept[::-1]

    # -- fill ----------------------------------------------------------------------------
    def fill(self, req: FillRequest, cancel=None) -> Fill:
        """The completion for REQ: greedy first; when it would leave the file less parseable than
        the hole did, sampled candidates, and a note when none parses."""
        if req.mode not in MODES:
            raise UsageError(f"unknown mode {req.mode!r}", f"use one of: {', '.join(MODES)}")
        t0 = time.perf_counter()
        # On an empty line at column 0 the model first picks the depth itself (an editor's guess,
        # the line above's, was right for 42% of HumanEval's lines); when it writes nothing there,
        # it is shown the editor's indentation and asked again.
        result = self._fill(req, "", cancel)
        indent = auto_indent(cursor(req.prefix, req.suffix))
        if indent and not result.completion.strip():
            first = result
            result = self._fill(req, indent, cancel)
            result.completion_tokens += first.completion_tokens
            result.prompt_s += first.prompt_s
            result.generate_s += first.generate_s
            result.candidates += first.candidates
        result.seconds = time.perf_counter() - t0
        return result

    def _fill(self, req: FillRequest, indent: str, cancel=None) -> Fill:
        shown = replace(req, prefix=req.prefix + indent) if indent else req
        cur = cursor(shown.prefix, shown.suffix)
        mode = choose_mode(cur, req.mode)
        tokens, files = self.prompt(shown)
        if cancel is not None:  # the prompt read with a way out (a long context can take seconds)
            t_read = time.perf_counter()
            evaluated = self.engine.prefill(tokens, cancel)
            if cancel.is_set():
                raise Cancelled
            read_s = time.perf_counter() - t_read
        check = _parse_check(shown)
        result = Fill("", mode, context=files)
        tried: list[str] = []
        first_stats = None
        for k in range(self.candidates):
            params = GenParams(
                max_tokens=min(MAX_TOKENS[mode], req.max_tokens or MAX_TOKENS[mode]),
                temperature=0.0 if k == 0 else SAMPLE_TEMPERATURE,
                seed=k,
                speculate=False,  # fills are a line or a block: not measured to pay (docs: Speculative decoding)
            )
            raw, stats = self._generate(tokens, cur, mode, params, cancel, req.time_limit)
            if cancel is not None and first_stats is None:  # the prompt was read by the prefill
                stats.prompt_s += read_s
                stats.cached_tokens = max(0, len(tokens) - evaluated)
            first_stats = first_stats or stats
            result.completion_tokens += stats.completion_tokens
            result.prompt_s += stats.prompt_s
            result.generate_s += stats.generate_s
            result.candidates += 1
            text = finish(raw, cur, mode)
            if text in tried:
                continue
            tried.append(text)
            if check is None:
                result.completion = text
                break
            errors, hole = check
            n = errors(text)
            if n:  # words right, depth wrong is the commonest failure: no new generation for that
                moved = next((v for v in _reindented(text, cur) if errors(v) == 0), None)
                if moved is not None:
                    deeper = len(moved) > len(text)
                    result.completion, result.parses = moved, True
                    result.note = f"the fill parses one indentation level {'deeper' if deeper else 'shallower'}"
                    break
            if n == 0 or n <= hole:  # parses, or breaks nothing the hole had not broken already
                result.completion, result.parses = text, n == 0
                if k > 0:
                    result.note = f"the greedy fill did not parse; candidate {k + 1} does"
                break
        else:
            result.completion, result.parses = tried[0], False
            result.note = f"no fill of {len(tried)} tried keeps the file parseable; showing the first"
        if indent and result.completion and not result.completion.startswith(indent):
            result.completion = indent + result.completion  # (a fill that carries its own depth keeps it)
        result.prompt_tokens = first_stats.prompt_tokens
        result.cached_tokens = first_stats.cached_tokens
        return result

    def _generate(self, tokens: list[int], cur: Cursor, mode: str, params: GenParams, cancel=None, time_limit=None):
        gen = self.engine.complete(tokens, params)
        raw = ""
        t0 = time.perf_counter()
        try:
            for piece in gen:
                raw += piece
                if cancel is not None and cancel.is_set():
                    raise Cancelled
                if "\n" in piece and done(raw, cur, mode):
                    break
                if time_limit is not None and "\n" in raw and time.perf_counter() - t0 > time_limit:
                    raw = raw[: raw.rfind("\n") + 1]  # out of time: the lines written so far
                    break
        finally:
            gen.close()
        return raw, gen.stats

    def close(self) -> None:
        for repo in self._repos.values():
            repo.close()
        self._repos.clear()


def _parse_check(req: FillRequest) -> tuple[Callable[[str | None], int], int] | None:
    """How many syntax errors the file has with a fill (a function) and with the hole alone;
    None when no parser knows the language.

    Python is judged by its own compiler (tree-sitter accepts a block opener with no body
    under it, which is the commonest bad fill); other languages by tree-sitter's error nodes.
    """
    from coder_cli.context.lookups import compiles, error_count
    from coder_cli.core.languages import SUPPORTED, language_for

    lang = language_for(req.path.name, req.prefix[:256].encode("utf-8"))
    if lang not in SUPPORTED:
        return None

    def errors(fill: str | None) -> int:
        text = req.prefix + (fill or "") + req.suffix
        if lang == "python" and compiles(text):
            return 0
        n = error_count(text.encode("utf-8"), lang)
        return max(n, 1) if lang == "python" else n

    return errors, errors(None)


def _reindented(text: str, cur: Cursor) -> list[str]:
    """TEXT one indentation level shallower and deeper: a fill on a line of its own whose words are
    right but whose depth is not (the model's commonest parse failure) needs no new generation."""
    if cur.before or not text.strip():
        return []
    unit = "\t" if cur.tabs else " " * cur.width
    lines = text.split("\n")
    out = []
    if all(not ln.strip() or ln.startswith(unit) for ln in lines):
        out.append("\n".join(ln[len(unit) :] if ln.strip() else ln for ln in lines))
    out.append("\n".join(unit + ln if ln.strip() else ln for ln in lines))
    return out


class FillCache:
    """Recent completions, so typing through an accepted one does not ask the model again."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Fill] = OrderedDict()

    def get(self, req: FillRequest) -> Fill | None:
        exact = self._items.get((req.path, req.prefix, req.suffix, req.mode))
        if exact is not None:
            return _copy(exact, exact.completion)
        for (path, prefix, suffix, mode), fill in reversed(self._items.items()):
            if path != req.path or mode != req.mode or suffix != req.suffix or not req.prefix.startswith(prefix):
                continue
            typed = req.prefix[len(prefix) :]
            if fill.completion.startswith(typed) and len(fill.completion) > len(typed):
                return _copy(fill, fill.completion[len(typed) :])
        return None

    def fill(self, completer: Completer, req: FillRequest) -> Fill:
        """REQ's fill from here (``cached`` set) or made by COMPLETER and kept."""
        hit = self.get(req)
        if hit is not None:
            return hit
        fill = completer.fill(req)
        self.put(req, fill)
        return fill

    def put(self, req: FillRequest, fill: Fill) -> None:
        self._items[(req.path, req.prefix, req.suffix, req.mode)] = fill
        self._items.move_to_end((req.path, req.prefix, req.suffix, req.mode))
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def _copy(fill: Fill, completion: str) -> Fill:
    return Fill(completion, fill.mode, parses=fill.parses, context=fill.context, cached=True)


def fill_markers(completer: Completer, path: Path, text: str, mode: str = "auto", on_fill=None) -> tuple[str, list[Fill]]:
    """TEXT with every MARKER filled, top to bottom; each fill sees the earlier ones. The model is
    shown the later markers removed."""
    fills: list[Fill] = []
    while MARKER in text:
        i = text.index(MARKER)
        prefix, rest = text[:i], text[i + len(MARKER) :]
        fill = completer.fill(FillRequest(path, prefix, rest.replace(MARKER, ""), mode))
        fills.append(fill)
        if on_fill:
            on_fill(len(fills), fill)
        text = prefix + fill.completion + rest
    return text, fills


_POSITION = re.compile(r"^(?P<path>.+?):(?P<line>\d+)(?::(?P<col>\d+))?$")


class CompletionJob:
    """`coder complete FILE[:LINE[:COL]]`: the file read and the position checked (before any model
    loads), filled (at the position, or at each <FILL> marker), and the result as a proposal."""

    def __init__(self, path: Path, line: int | None, col: int | None, mode: str) -> None:
        from coder_cli.core.fim_prompt import PositionError, offset_of

        self.line, self.col, self.mode = line, col, mode
        self.original = read_text(path)
        self.path = path.resolve()
        text, name = self.original.text, path.name
        if not text.strip():
            raise UsageError(f"{name} is empty: there is no code around the cursor", "write a few lines first")
        self.at = None
        if line is None:
            if MARKER not in text:
                raise UsageError(f"{name} has no {MARKER} marker", f"give a position ({name}:LINE[:COL]) or add {MARKER}")
            return
        try:
            self.at = offset_of(text, line, col)
        except PositionError as exc:
            raise UsageError(f"{name}: {exc}") from None

    @classmethod
    def from_target(cls, cwd: Path, target: str, mode: str) -> CompletionJob:
        """TARGET as typed: FILE, FILE:LINE or FILE:LINE:COL (a file whose name has a colon wins)."""
        if (cwd / target).is_file():
            return cls(cwd / target, None, None, mode)
        m = _POSITION.match(target)
        if m is None:
            return cls(cwd / target, None, None, mode)  # read_text says it is missing
        col = m.group("col")
        return cls(cwd / m.group("path"), int(m.group("line")), int(col) if col else None, mode)

    def run(self, completer: Completer, progress: Callable[[str], None]) -> tuple[str, list[Fill]]:
        text = self.original.text
        if self.at is None:
            total = text.count(MARKER)
            return fill_markers(
                completer, self.path, text, self.mode, lambda i, f: progress(f"filled {i}/{total} ({f.seconds:.1f} s)")
            )
        at = self.at
        fill = completer.fill(FillRequest(self.path, text[:at], text[at:], self.mode))
        return text[:at] + fill.completion + text[at:], [fill]

    def as_json(self, new_text: str, fills: list[Fill]) -> dict:
        data = {"file": str(self.path), "fills": [f.as_dict() for f in fills]}
        if self.line is not None:
            data.update(line=self.line, col=self.col, completion=fills[0].completion)
        else:
            data["text"] = new_text
        return data

    def proposal(self, new_text: str):
        from coder_cli.actions.proposal import proposal_for

        return proposal_for(self.path, self.original, new_text, "coder complete", checks=["parses"])
