"""Index a repository (cached tags) and render a ranked, budgeted repo map."""

from __future__ import annotations

import hashlib
import marshal
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coder_cli.context import repo_files as files_mod
from coder_cli.context.cache import TagCache, db_path
from coder_cli.context.rank import rank
from coder_cli.context.render import fit
from coder_cli.context.repo_files import FileSet

PARSE_CHUNK = 24
# Part of every cached map's key: bump it when ranking or rendering changes.
MAP_VERSION = "map-5"
INPROCESS_LIMIT = 48  # fewer changed files than this are parsed without worker processes


@dataclass
class MapStats:
    files: int = 0
    definitions: int = 0
    references: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    parsed: int = 0  # files (re)parsed this run
    cache_hits: int = 0  # files whose tags came from the cache
    map_cache_hit: bool = False
    skipped: dict[str, list[str]] = field(default_factory=dict)
    with_syntax_errors: int = 0
    partial: bool = False
    unindexed: int = 0  # files left out by the time budget
    seconds: float = 0.0
    tokens: int = 0

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["skipped"] = {k: sorted(v) for k, v in self.skipped.items()}
        return d


@dataclass
class RepoMap:
    text: str
    files: list[str]  # the files shown, in order
    stats: MapStats


def _parse_one(root: str, rel: str, lang: str) -> tuple | None:
    from coder_cli.context.tags import extract

    try:
        with open(os.path.join(root, rel), "rb") as fh:
            source = fh.read()
    except OSError:
        return None
    return extract(source, lang).dump()


def _parse_chunk(root: str, chunk: list[tuple[str, str, int, int]]) -> list[tuple]:
    out = []
    for rel, lang, mtime, size in chunk:
        data = _parse_one(root, rel, lang)
        if data is not None:
            out.append((rel, mtime, size, lang, data))
    return out


class RepoIndex:
    """Tags of every supported file of ROOT, kept current through the cache."""

    def __init__(
        self,
        root: Path,
        home: Path,
        *,
        warn: Callable[[str], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
        time_budget: float = 60.0,
        workers: int | None = None,
    ) -> None:
        self.root = root.resolve()
        self.warn = warn or (lambda msg: None)
        self.progress = progress
        self.time_budget = time_budget
        self.workers = workers or min(4, os.cpu_count() or 1)
        self.cache = TagCache(db_path(home, self.root), self.warn)
        self.fileset: FileSet | None = None
        self.tags: dict[str, tuple] = {}  # rel -> FileTags.dump() tuple
        self.stats = MapStats()
        self._scanned = False

    def list(self) -> FileSet:
        if self.fileset is None:
            self.fileset = files_mod.list_files(self.root)
        return self.fileset

    def scan(self) -> MapStats:
        """Bring the cache up to date with the work tree; load every file's tags.

        The index is a snapshot of the file set listed once (``list``): a complete scan is
        not repeated, so several maps and lookups on one index read the cache once.
        """
        if self._scanned and not self.stats.partial:
            return self.stats
        t0 = time.perf_counter()
        fs = self.list()
        cached = self.cache.load()
        current = {f.rel: f for f in fs.files}
        stale = [rel for rel in cached if rel not in current]
        todo = []
        for f in fs.files:
            row = cached.get(f.rel)
            if row is not None and row[0] == f.mtime_ns and row[1] == f.size and row[2] == f.lang:
                try:
                    self.tags[f.rel] = TagCache.unpack(row[3])
                    continue
                except (ValueError, EOFError, TypeError):
                    pass  # a damaged row: parse again
            todo.append(f)
        st = self.stats
        st.cache_hits = len(self.tags)
        self.cache.delete(stale)
        parsed = self._parse(todo, t0)
        self.cache.put(parsed)
        for rel, _, _, _, data in parsed:
            self.tags[rel] = data
        st.parsed = len(parsed)
        st.unindexed = len(todo) - len(parsed)
        st.partial = st.unindexed > 0
        self._count()
        st.seconds = time.perf_counter() - t0
        self._scanned = True
        return st

    def _parse(self, todo: list, t0: float) -> list[tuple]:
        if not todo:
            return []
        work = [(f.rel, f.lang, f.mtime_ns, f.size) for f in todo]
        root = str(self.root)
        deadline = t0 + self.time_budget
        if len(work) < INPROCESS_LIMIT or self.workers <= 1:
            out = []
            for i in range(0, len(work), PARSE_CHUNK):
                if time.perf_counter() > deadline:
                    break
                out += _parse_chunk(root, work[i : i + PARSE_CHUNK])
                self._report(min(i + PARSE_CHUNK, len(work)), len(work))
            return out
        return self._parse_parallel(root, work, deadline)

    def _parse_parallel(self, root: str, work: list, deadline: float) -> list[tuple]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        chunks = [work[i : i + PARSE_CHUNK] for i in range(0, len(work), PARSE_CHUNK)]
        out: list[tuple] = []
        done_files = 0
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context(method))
        try:
            pending = {pool.submit(_parse_chunk, root, c) for c in chunks}
            while pending:
                timeout = deadline - time.perf_counter()
                if timeout <= 0:
                    break
                finished, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
                for fut in finished:
                    rows = fut.result()
                    out += rows
                    done_files += len(rows)
                self._report(done_files, len(work))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return out

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def _count(self) -> None:
        st = self.stats
        fs = self.list()
        langs: Counter[str] = Counter()
        lang_of = {f.rel: f.lang for f in fs.files}
        st.skipped = {k: list(v) for k, v in fs.skipped.items()}
        st.definitions = st.references = st.with_syntax_errors = 0
        for rel, data in self.tags.items():
            _, defs, refs, has_error, binary = data
            if binary:
                st.skipped.setdefault("binary", []).append(rel)
                continue
            langs[lang_of.get(rel, "?")] += 1
            st.definitions += len(defs)
            st.references += sum(refs.values())
            st.with_syntax_errors += bool(has_error)
        st.files = sum(langs.values())
        st.languages = dict(sorted(langs.items(), key=lambda kv: (-kv[1], kv[0])))

    def defs_of(self, rel: str) -> list[tuple]:
        return self.tags[rel][1]

    def close(self) -> None:
        self.cache.close()


class BlockCounter:
    """Token counts of rendered file blocks, remembered in the cache so an unchanged block
    never needs the tokenizer (which takes a few tenths of a second to load)."""

    def __init__(self, cache: TagCache, tokenizer_id: str, count_tokens: Callable[[str], int]) -> None:
        self.cache = cache
        self.tokenizer_id = tokenizer_id
        self.count_tokens = count_tokens
        self.known = cache.token_counts(tokenizer_id)
        self.new: dict[str, int] = {}

    def __call__(self, blocks: list[str]) -> int:
        total = 0
        for block in blocks:
            h = hashlib.sha1(block.encode("utf-8")).hexdigest()
            n = self.known.get(h)
            if n is None:
                n = self.known[h] = self.new[h] = self.count_tokens(block)
            total += n
        return total

    def save(self) -> None:
        self.cache.put_token_counts(self.tokenizer_id, self.new)


def map_key(fs: FileSet, focus: Iterable[str], exclude: Iterable[str], budget: int, tokenizer_id: str) -> str:
    h = hashlib.sha256()
    h.update(f"{MAP_VERSION}\0{budget}\0{tokenizer_id}\0".encode())
    h.update("\0".join(sorted(focus)).encode() + b"\1")
    h.update("\0".join(sorted(exclude)).encode() + b"\1")
    for f in fs.files:
        h.update(f"{f.rel}\0{f.mtime_ns}\0{f.size}\0{f.lang}\n".encode())
    return h.hexdigest()


def split_focus(fs: FileSet, focus: Sequence[str], cwd: Path) -> tuple[set[str], set[str]]:
    """FOCUS entries that name files of the set (relative to the root or to CWD), and the rest as identifiers."""
    rels = {f.rel for f in fs.files}
    files, idents = set(), set()
    for item in focus:
        candidates = [item.replace(os.sep, "/")]
        path = (cwd / item).resolve()
        if path.is_relative_to(fs.root):
            candidates.append(path.relative_to(fs.root).as_posix())
        hit = next((c for c in candidates if c in rels), None)
        if hit:
            files.add(hit)
        else:
            idents.add(item)
    return files, idents


MAX_USER_FILES = 8


def _users(index: RepoIndex, idents: set[str], file_rank: list[float], position: dict[str, int]) -> set[tuple[str, int]]:
    """(file, def index) of the innermost definitions around uses of IDENTS, in the best-ranked using files."""
    from coder_cli.context.lookups import reference_lines

    lang_of = {f.rel: f.lang for f in index.list().files}
    found: set[tuple[str, int]] = set()
    for ident in sorted(idents):
        using = [r for r, data in index.tags.items() if ident in data[2] and r in position and r in lang_of]
        using.sort(key=lambda r: (-file_rank[position[r]], r))
        for rel in using[:MAX_USER_FILES]:
            defs = index.tags[rel][1]
            for row, _ in reference_lines(index.root / rel, lang_of[rel], ident):
                inner = -1
                for di, d in enumerate(defs):
                    if d[3] <= row <= d[4] and (inner < 0 or d[5] >= defs[inner][5]):
                        inner = di
                if inner >= 0:
                    found.add((rel, inner))
    return found


def _inside(defs: Sequence[tuple], scope: int, names: set[str]) -> bool:
    while scope >= 0:
        if defs[scope][0] in names:
            return True
        scope = defs[scope][7]
    return False


def build_map(
    index: RepoIndex,
    *,
    budget: int,
    count_tokens: Callable[[str], int],
    tokenizer_id: str,
    focus: Sequence[str] = (),
    exclude: Sequence[str] = (),
    cwd: Path | None = None,
) -> RepoMap:
    """The repo map for the current work tree: from the map cache when nothing changed."""
    t0 = time.perf_counter()
    fs = index.list()
    focus_files, focus_idents = split_focus(fs, focus, cwd or index.root)
    key = map_key(fs, sorted(focus_files) + sorted(f"#{i}" for i in focus_idents), exclude, budget, tokenizer_id)
    hit = index.cache.get_map(key)
    if hit is not None:
        try:
            text, shown, stats = marshal.loads(hit)
            st = MapStats(**stats)
            st.map_cache_hit = True
            st.cache_hits, st.parsed = st.files, 0
            st.seconds = time.perf_counter() - t0
            return RepoMap(text, list(shown), st)
        except (ValueError, EOFError, TypeError):
            pass
    st = index.scan()
    rels = sorted(r for r, d in index.tags.items() if not d[4])
    position = {r: i for i, r in enumerate(rels)}
    def_names = [[d[0] for d in index.tags[r][1]] for r in rels]
    refs = [index.tags[r][2] for r in rels]
    file_rank, scores = rank(def_names, refs, {position[f] for f in focus_files if f in position}, focus_idents)
    skip = set(exclude)
    top = max(scores.values(), default=0.0)
    users = _users(index, focus_idents, file_rank, position) if focus_idents else {}
    ranked = []
    for r in rels:
        if r in skip:
            continue
        fi = position[r]
        defs = index.tags[r][1]
        for di, d in enumerate(defs):
            s = scores.get((fi, d[0]), 0.0)
            if focus_idents and _inside(defs, d[7], focus_idents):
                s += 0.5 * top  # the members of a focused class or function
            if (r, di) in users:
                s += 0.4 * top  # the functions that use a focused identifier
            ranked.append((-s, r, d[2], di))
    ranked.sort()
    entries = [(r, di) for _, r, _, di in ranked[: max(1, budget // 3)]]
    counter = BlockCounter(index.cache, tokenizer_id, count_tokens)
    text, shown, tokens = fit(entries, index.defs_of, budget, counter)
    counter.save()
    st.tokens = tokens
    st.seconds = time.perf_counter() - t0
    saved = st.as_dict()
    if not st.partial:
        index.cache.put_map(key, marshal.dumps((text, shown, saved)))
    return RepoMap(text, shown, st)
