"""What a model is shown of a diff: every file named, hunks packed within a token budget, new-side line numbers.

`coder commit-msg` and `coder review` render the same changes the same way, so a warm engine that
just read one command's prompt reuses it for the other (the diff is the first part of both).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from coder_cli.core.patch import FileDiff, Hunk, Line

DEFAULT_BUDGET = 1000  # tokens of diff: with the instructions ~1,200 prompt tokens, ~6 s on a 2-core CPU (0.5B)
PIECE_LINES = 40  # a longer hunk is cut into pieces of this many lines, packed like hunks

_STATUS = {"added": "new file", "deleted": "deleted", "modified": "modified", "renamed": "renamed", "copied": "copied"}


@dataclass
class DiffView:
    """The rendered diff and what it holds."""

    text: str
    files: list[FileDiff]
    shown: dict[str, list[Hunk]] = field(default_factory=dict)  # path -> hunks (or pieces) shown, in file order
    hunks: int = 0  # hunks (pieces of long hunks count one each) of the files whose content may be shown
    omitted: int = 0  # of those, how many were left out to keep within the budget
    tokens: int = 0  # tokens of TEXT, by the counting function given

    @property
    def shown_hunks(self) -> int:
        return self.hunks - self.omitted

    def lines(self, path: str) -> dict[int, str]:
        """New-side line number -> text, for every line of PATH the model was shown (context and added)."""
        return {ln.new: ln.text for h in self.shown.get(path, []) for ln in h.lines if ln.new is not None}

    @property
    def omitted_files(self) -> list[str]:
        """Files whose content could have been shown but none of it fit."""
        return [f.path for f in self.files if f.excluded is None and f.hunks and f.path not in self.shown]


def pieces(hunk: Hunk, size: int = PIECE_LINES) -> list[Hunk]:
    """HUNK cut at line boundaries into hunks of at most SIZE lines (HUNK itself when it is short)."""
    if len(hunk.lines) <= size:
        return [hunk]
    out = []
    for i in range(0, len(hunk.lines), size):
        chunk = hunk.lines[i : i + size]
        old = [ln.old for ln in chunk if ln.old is not None]
        new = [ln.new for ln in chunk if ln.new is not None]
        old_start = old[0] if old else _before(hunk.lines[:i], "old", hunk.old_start)
        new_start = new[0] if new else _before(hunk.lines[:i], "new", hunk.new_start)
        out.append(Hunk(old_start, len(old), new_start, len(new), hunk.section, chunk))
    return out


def _before(lines: list[Line], side: str, start: int) -> int:
    """The line number a side has reached after LINES (git's start for an empty range)."""
    numbers = [getattr(ln, side) for ln in lines if getattr(ln, side) is not None]
    return numbers[-1] if numbers else max(start - 1, 0)


def file_entry(f: FileDiff, reason: str | None = None) -> str:
    """A file as the model sees it named: path, status, +/- counts, and why its content is not shown."""
    what = _STATUS.get(f.status, f.status)
    if f.old_path and f.status in ("renamed", "copied"):
        what += f" from {f.old_path}"
    counts = "" if f.binary else f", +{f.added} -{f.removed}"
    mode = f", mode {f.mode_change}" if f.mode_change else ""
    why = f"; {reason}" if reason else ""
    return f"{f.path} ({what}{counts}{mode}{why})"


def render_hunk(hunk: Hunk) -> str:
    """The hunk with each line's new-side number in a gutter (removed lines have none)."""
    head = f"@@ -{hunk.old_start},{hunk.old_len} +{hunk.new_start},{hunk.new_len} @@"
    if hunk.section:
        head += " " + hunk.section
    width = max((len(str(ln.new)) for ln in hunk.lines if ln.new is not None), default=1)
    rows = [head]
    for ln in hunk.lines:
        number = str(ln.new) if ln.new is not None else ""
        rows.append(f"{number:>{width}} {ln.kind}{ln.text}".rstrip())
    return "\n".join(rows) + "\n"


def _file_header(f: FileDiff) -> str:
    return f"File {file_entry(f)}:\n"


def _omitted_note(n: int) -> str:
    return f"({n} more hunk{'s' if n != 1 else ''} of this file not shown)\n"


def _not_shown(files: list[FileDiff], shown: set[str], budget: int, count: Callable[[str], int]) -> str:
    """One line per file with nothing shown; past BUDGET tokens the rest is summed up in one line."""
    rest = [f for f in files if f.path not in shown]
    if not rest:
        return ""
    rows = ["Not shown:"]
    used = count(rows[0])
    for i, f in enumerate(rest):
        reason = f.excluded or ("no content" if not f.hunks else "over the budget")
        if f.excluded == "deleted":
            reason = None
        entry = "- " + file_entry(f, reason)
        used += count(entry) + 1
        if used > budget and i > 0:
            left = rest[i:]
            rows.append(f"- and {len(left)} more files (+{sum(x.added for x in left)} -{sum(x.removed for x in left)})")
            break
        rows.append(entry)
    return "\n".join(rows) + "\n"


def _summary(files: list[FileDiff]) -> str:
    n = len(files)
    return f"{n} file{'s' if n != 1 else ''} changed (+{sum(f.added for f in files)} -{sum(f.removed for f in files)}).\n"


def _render(files: list[FileDiff], taken: dict[str, list], cands: dict[str, list], tail: str) -> str:
    parts = [_summary(files), tail]
    for f in files:
        chosen = sorted(taken.get(f.path, []), key=lambda item: item[0])
        if not chosen:
            continue
        parts.append("\n" + _file_header(f))
        parts.extend(render_hunk(h) for _, h in chosen)
        left = len(cands[f.path]) - len(chosen)
        if left:
            parts.append(_omitted_note(left))
    return "".join(parts)


def pack(files: list[FileDiff], budget: int, count: Callable[[str], int]) -> DiffView:
    """Render FILES within BUDGET tokens (as COUNT counts them), deterministically.

    Every file is named with its status and +/- counts. Hunks of the files that are not excluded go
    in round-robin across files, each file's smaller hunks first (and in a round the cheaper files
    first), whole hunks only (a hunk longer than PIECE_LINES lines counts as several); a hunk that
    does not fit ends its file's turns. Shown
    hunks keep their order; files with nothing shown are listed first, after the totals (in at most a
    quarter of the budget, the rest summed up), so the instructions that follow come after code.
    """
    cands: dict[str, list[tuple[tuple, Hunk]]] = {}
    for f in files:
        if f.excluded is not None:
            continue
        items = []
        for hi, h in enumerate(f.hunks):
            for pi, piece in enumerate(pieces(h)):
                items.append(((hi, pi), piece, (len(h.lines), hi, pi)))
        items.sort(key=lambda item: item[2])
        cands[f.path] = [(pos, piece) for pos, piece, _ in items]
    by_path = {f.path: f for f in files}
    # Keep room for the list of files with nothing shown, as if none were; a file shown frees its
    # line there (unless the list is cut short: then another file's line takes its place).
    listing = _not_shown(files, set(), budget // 4, count)
    frees = "more files (+" not in listing
    remaining = budget - count(_summary(files)) - count(listing)
    taken: dict[str, list[tuple[tuple, Hunk]]] = {}
    order: list[tuple[str, tuple]] = []  # what was taken, in turn
    done: set[str] = set()
    rnd = 0
    while len(done) < len(cands):
        turn = []  # this round's hunk of each file still in play, cheapest first
        for index, (path, items) in enumerate(cands.items()):
            if path in done:
                continue
            if rnd >= len(items):
                done.add(path)
                continue
            pos, hunk = items[rnd]
            cost = count(render_hunk(hunk))
            if path not in taken:  # its header and note come in
                f = by_path[path]
                cost += count("\n" + _file_header(f)) + count(_omitted_note(2))
                cost -= count("- " + file_entry(f, "over the budget")) if frees else 0
            turn.append((cost, index, path, pos, hunk))
        for cost, _, path, pos, hunk in sorted(turn, key=lambda t: t[:2]):
            if cost > remaining:
                done.add(path)
                continue
            remaining -= cost
            taken.setdefault(path, []).append((pos, hunk))
            order.append((path, (pos, hunk)))
        rnd += 1
    text = _render(files, taken, cands, _not_shown(files, set(taken), budget // 4, count))
    while count(text) > budget and order:  # token counts do not quite add up at the joins
        path, item = order.pop()
        taken[path].remove(item)
        if not taken[path]:
            del taken[path]
        text = _render(files, taken, cands, _not_shown(files, set(taken), budget // 4, count))
    total = sum(len(v) for v in cands.values())
    shown_n = sum(len(v) for v in taken.values())
    shown = {f.path: [h for _, h in sorted(taken[f.path], key=lambda item: item[0])] for f in files if f.path in taken}
    return DiffView(text=text, files=files, shown=shown, hunks=total, omitted=total - shown_n, tokens=count(text))
