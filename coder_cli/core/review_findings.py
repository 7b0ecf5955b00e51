"""Review findings read from a model's reply and checked against the diff it was shown.

Pure. A finding must name a file of the diff and a new-side line the model was shown. A model may
cite it as ``path:line: severity: message`` (what it is asked for), as ``line N``, or by quoting the
line's code in backticks (what small models do best); every form is resolved to a shown line or
dropped. Severities come back as error, warning or info.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from coder_cli.core.diff_packing import DiffView
from coder_cli.core.review_corrections import suggestions

SEVERITIES = ("error", "warning", "info")
MAX_FINDINGS = 20
MESSAGE_MAX = 200
LOOP_LINES = 3  # the same message at this many lines is a loop: all of them are dropped
_SEVERITY_WORDS = {
    "error": "error",
    "critical": "error",
    "high": "error",
    "bug": "error",
    "fatal": "error",
    "blocker": "error",
    "major": "error",
    "severe": "error",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "moderate": "warning",
    "caution": "warning",
    "info": "info",
    "information": "info",
    "low": "info",
    "note": "info",
    "suggestion": "info",
    "nit": "info",
    "nitpick": "info",
    "minor": "info",
    "style": "info",
    "hint": "info",
    "trivial": "info",
}
_NOTHING = re.compile(r"^\W*(?:no (?:findings|bugs?|issues?|problems?)|none|lgtm|looks good|nothing (?:wrong|to report))\b", re.I)
_HARMLESS = re.compile(
    r"\b(?:is|are|looks|seems) (?:correct|fine|ok|okay|good|valid|right)\b|\bno (?:bug|issue|problem|error|finding)s?\b"
    r"|\bno changes\b|\bnothing wrong\b",
    re.I,
)
_LOCATION = re.compile(r"(?P<path>[\w./@+-]*[A-Za-z_][\w./@+-]*)(?::|#L)(?P<line>\d+)\b")
_LINE_WORD = re.compile(r"\b(?:line|l\.?|ln)\s*#?(?P<line>\d+)\b", re.I)
_QUOTE = re.compile(r"`([^`\n]+)`")
_LABEL = re.compile(r"(?:^|(?<=[:\s*]))[\[(]?\**(?P<word>[A-Za-z]+)\**\s*[:\])]\s*")
_PLACEHOLDERS = {"code", "the code", "path", "line", "severity", "message"}
# "path:LINE:" with the template's own word for the line, as small models copy it
_TEMPLATE = re.compile(r"^\W*[\w./@+-]+:(?:LINE|N|line|NUMBER)\b:?\s*")
_FENCED = re.compile(r"^(`{3,}|~{3,})[^\n]*\n.*?(?:^\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_PAIRS = {"parenthesis": "()", "parentheses": "()", "bracket": "[]", "brace": "{}", "curly": "{}"}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    severity: str
    message: str

    def format(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "severity": self.severity, "message": self.message}


@dataclass
class Parsed:
    findings: list[Finding]
    dropped: int  # items that named no line shown in the diff, or that said nothing was wrong


def severity_of(word: str) -> str | None:
    return _SEVERITY_WORDS.get(word.lower().strip("*_ "))


def items(reply: str) -> list[str]:
    """The reply split into items: one per line, indented lines joined to the item above."""
    out: list[str] = []
    for raw in reply.splitlines():
        if re.match(r"^\s*(`{3,}|~{3,})", raw) or not raw.strip():
            continue
        if raw[:1] in (" ", "\t") and out and not re.match(r"^\s*\d+[.)]\s", raw):
            out[-1] += " " + raw.strip()
        else:
            out.append(raw.strip())
    return out


def _norm(code: str) -> str:
    return re.sub(r"\s+", " ", code).strip()


def _strip_gutter(code: str) -> str:
    """A quoted line without the gutter the model may have copied with it ("12 +    x = 1")."""
    m = re.match(r"^\s*\d+\s+[+ -]", code)
    if m:
        return code[m.end() :]
    return code[1:] if code[:1] in "+-" and code[1:2] != code[:1] else code


def _codeish(text: str) -> bool:
    """More than a bare name: a quote of `total` could be anywhere, `total / 0` is a line."""
    return bool(re.search(r"[\s()=\[\]{}.:+*/<>,\"'-]", text))


class _Resolver:
    def __init__(self, view: DiffView) -> None:
        self.view = view
        self.lines = {path: view.lines(path) for path in view.shown}
        self.added = {path: {ln.new for h in hunks for ln in h.lines if ln.kind == "+"} for path, hunks in view.shown.items()}
        self.removed = {_norm(ln.text) for hunks in view.shown.values() for h in hunks for ln in h.lines if ln.kind == "-"}

    def path(self, name: str) -> str | None:
        """The shown file NAME means: exact, else the one shown file ending with it."""
        name = name.strip("`'\"*[]()<>").removeprefix("./").removeprefix("b/").removeprefix("a/")
        if name in self.lines:
            return name
        ends = [p for p in self.lines if p.endswith("/" + name) or (name.endswith("/" + p))]
        return ends[0] if len(ends) == 1 else None

    def by_quote(self, quote: str, paths: list[str]) -> list[tuple[str, int]]:
        """Shown lines whose code is QUOTE: equal first, then containing it (or contained), added lines first."""
        q = _norm(_strip_gutter(quote))
        if len(q) < 3:
            return []
        exact, partial = [], []
        for path in paths:
            for n, text in self.lines[path].items():
                t = _norm(text)
                if not t:
                    continue
                if t == q:
                    exact.append((path, n))
                elif _codeish(q) and ((len(q) >= 8 and q in t) or (len(t) >= 8 and t in q)):
                    partial.append((path, n))
        key = lambda pn: (pn[1] not in self.added[pn[0]], paths.index(pn[0]), pn[1])  # noqa: E731
        return sorted(exact, key=key) or sorted(partial, key=key)

    def resolve(self, text: str) -> tuple[str, int] | None:
        """The (path, line) an item points at, or None when it names no shown line."""
        cited: tuple[str | None, int] | None = None
        for m in _LOCATION.finditer(text):
            path = self.path(m.group("path"))
            if path:
                cited = (path, int(m.group("line")))
                break
        if cited is None:
            m = _LINE_WORD.search(text)
            if m:
                cited = (None, int(m.group("line")))
        paths = [cited[0]] if cited and cited[0] else list(self.lines)
        if cited is None or cited[0] is None:
            named = [p for p in self.lines if re.search(r"(?<![\w/.])" + re.escape(p) + r"\b", text)]
            if len(named) == 1:
                paths = named
        quotes = [q for q in _QUOTE.findall(text) if q.strip().lower() not in _PLACEHOLDERS]
        for quote in quotes:
            hits = self.by_quote(quote, paths) or self.by_quote(quote, list(self.lines))
            if hits:
                if cited:
                    return min(hits, key=lambda pn: abs(pn[1] - cited[1]))
                return hits[0]
        if cited:
            candidates = [p for p in paths if cited[1] in self.lines[p]]
            if len(candidates) == 1:
                return candidates[0], cited[1]
        return None

    def only_removed(self, text: str) -> bool:
        """Whether the item's quotes are all of removed lines (not on the new side at all)."""
        quotes = [_norm(_strip_gutter(q)) for q in _QUOTE.findall(text)]
        return bool(quotes) and all(q in self.removed for q in quotes)


def _severity(text: str) -> tuple[str, str]:
    """(severity, text without it): the first severity word used as a label ("error:", "[high]"), else warning."""
    for m in _LABEL.finditer(text):
        sev = severity_of(m.group("word"))
        if sev:
            return sev, (text[: m.start()] + " " + text[m.end() :]).strip()
    return "warning", text


def _message(text: str, where: tuple[str, int], lines: dict[int, str]) -> str:
    """The item's words without its location, list marker and a leading copy of the line's code."""
    s = re.sub(r"^(?:\d+[.):]\s+|[-*•]\s+)", "", text)
    s = _TEMPLATE.sub("", s.replace("**", ""))
    s = re.sub(r"`(?:code|the code)`\s*[:-]?\s*", "", s)
    s = _LOCATION.sub("", s, count=1) if _LOCATION.search(s) else _LINE_WORD.sub("", s, count=1)
    s = s.strip(" :-–—,.")
    code = _norm(lines.get(where[1], ""))
    m = _QUOTE.match(s)
    if m and (_norm(_strip_gutter(m.group(1))) == code or code in _norm(m.group(1))):
        rest = s[m.end() :].strip(" :-–—,")
        if len(rest) > 3:
            s = rest
    s = re.sub(r"\s+", " ", s).strip()
    if len(s) > MESSAGE_MAX:
        s = s[: MESSAGE_MAX - 1].rsplit(" ", 1)[0] + "…"
    return s[:1].upper() + s[1:] if s else s


def _false_syntax_claim(text: str, code: str) -> bool:
    """A claim that the line misses a closing bracket or a colon it has (small models make it often)."""
    m = re.search(r"\bmissing (?:an? )?(?:closing )?(parenthes[ie]s|bracket|brace|curly|colon)", text, re.I)
    if not m:
        return False
    word = m.group(1).lower()
    if word == "colon":
        return code.rstrip().endswith(":")
    opening, closing = _PAIRS[word]
    return code.count(opening) == code.count(closing)


def _no_op(text: str) -> bool:
    """`x` should be `x`: a suggestion to write what is already there."""
    quotes = [_norm(_strip_gutter(q)).rstrip(":;") for q in _QUOTE.findall(text)]
    return len(quotes) >= 2 and len(set(quotes)) == 1


def _cites(item: str) -> bool:
    """Whether ITEM names a place (path:N, line N, path:LINE): a finding, if it pointed somewhere shown."""
    return bool(_LOCATION.search(item) or _LINE_WORD.search(item) or _TEMPLATE.match(item))


def parse_review(reply: str, view: DiffView, broken: Mapping[str, int] | None = None) -> Parsed:
    """The findings of a review reply: the lines it states (outside code) and the lines its code corrects.

    BROKEN: the line the compiler blames in each Python file whose new side does not compile; a
    corrected line is an error only there (see `suggestions`).
    """
    prose = _FENCED.sub("", reply) if _FENCED.search(reply) else reply
    parsed = parse_findings(prose, view)
    cited = {(f.path, f.line) for f in parsed.findings}
    for s in suggestions(reply, view, broken):
        if (s.path, s.line) not in cited:
            parsed.findings.append(Finding(s.path, s.line, s.severity, s.message))
    order = list(view.shown)
    parsed.findings.sort(key=lambda f: (order.index(f.path), f.line))
    parsed.findings = parsed.findings[:MAX_FINDINGS]
    return parsed


def parse_findings(reply: str, view: DiffView) -> Parsed:
    """Every finding in REPLY that points at a line VIEW showed; the rest counted as dropped."""
    resolver = _Resolver(view)
    findings: list[Finding] = []
    seen: set[tuple] = set()
    dropped = 0
    for item in items(reply):
        if _NOTHING.match(item):
            continue
        where = resolver.resolve(item)
        if where is None or _HARMLESS.search(item) or _no_op(item) or resolver.only_removed(item):
            # A finding that points nowhere shown counts as dropped; prose around a code block does not.
            dropped += bool(where or _cites(item) or resolver.only_removed(item))
            continue
        if _false_syntax_claim(item, resolver.lines[where[0]][where[1]]):
            dropped += 1
            continue
        severity, rest = _severity(item)
        message = _message(rest, where, resolver.lines[where[0]])
        if not re.search(r"[A-Za-z]{3}", message) or _norm(message).strip("`") == _norm(resolver.lines[where[0]][where[1]]):
            dropped += 1
            continue
        key = (where, message.lower())
        if key in seen:
            continue
        seen.add(key)
        findings.append(Finding(where[0], where[1], severity, message))
    # One message on line after line is a model stuck in a loop, not a finding.
    said = Counter(f.message.lower() for f in findings)
    looped = [f for f in findings if said[f.message.lower()] >= LOOP_LINES]
    findings = [f for f in findings if said[f.message.lower()] < LOOP_LINES]
    return Parsed(findings[:MAX_FINDINGS], dropped + len(looped))
