"""Small edits of one line: the classic program-repair operators.

Most bugs that survive a code review are one small change inside a line: a
comparison pointing the wrong way, a ``+ 1`` too many, ``=`` for ``+=``, two
arguments swapped, a value missing the call around it, a condition that lost
its ``not``. ``edits(source, line, lang)`` lists such variants of one line;
nothing here judges them: `coder fix` ranks them by the model's own token
scores and runs the check on the best ones first.

Python lines are edited through the syntax tree (exact spans, no false hits in
strings); other languages through token patterns. Pure functions, ``str -> list``.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass
from itertools import pairwise

# Wrapping a value in one of these is a common missing-logic fix (`abs(a - b)`, `sorted(xs)`).
WRAPPERS = ("abs", "len", "sorted", "set", "list", "int", "str", "sum", "max", "min", "reversed", "round", "tuple")
MAX_WRAP_TARGETS = 6  # values of one line that get wrapped (each in every name in scope)
# A value missing a method call on it (`s` for `s.lower()`): the common argument-less ones.
METHODS = ("lower", "upper", "strip", "split", "swapcase", "items", "values")
MAX_SLICE_NAMES = 4  # names of the function a value may be sliced by (`arr` -> `arr[:k]`, `arr[k:]`)
MAX_LITERALS = 4  # other string literals of the function a string literal may become (`"d"` -> `"db"`)

_COMPARE = {
    ast.Lt: ("<", ("<=", ">")),
    ast.LtE: ("<=", ("<", ">=")),
    ast.Gt: (">", (">=", "<")),
    ast.GtE: (">=", (">", "<=")),
    ast.Eq: ("==", ("!=",)),
    ast.NotEq: ("!=", ("==",)),
    ast.Is: ("is", ("is not",)),
    ast.IsNot: ("is not", ("is",)),
    ast.In: ("in", ("not in",)),
    ast.NotIn: ("not in", ("in",)),
}
_ARITH = {
    ast.Add: ("+", ("-",)),
    ast.Sub: ("-", ("+",)),
    ast.Mult: ("*", ("/", "//", "**")),
    ast.Div: ("/", ("//", "*")),
    ast.FloorDiv: ("//", ("/", "%")),
    ast.Mod: ("%", ("//",)),
    ast.Pow: ("**", ("*",)),
}
_AUG = {ast.Add: "+=", ast.Sub: "-=", ast.Mult: "*=", ast.Div: "/=", ast.FloorDiv: "//=", ast.Mod: "%="}
_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)


@dataclass(frozen=True)
class LineEdit:
    text: str  # the whole new line
    kind: str  # "comparison", "operator", "off by one", "assignment", "swap", "wrap", "unwrap", "negation", ...


def edits(source: str, line: int, lang: str, names: tuple[str, ...] = ()) -> list[LineEdit]:
    """Variants of line LINE (0-based) of SOURCE, each a whole new line, without duplicates or the
    line itself. NAMES: functions in scope that may wrap a value (the builtins above are added)."""
    lines = source.split("\n")
    if not 0 <= line < len(lines) or not lines[line].strip():
        return []
    original = lines[line]
    found: list[LineEdit] = []
    if lang == "python":
        found = _python(source, line, original, names)
    if not found:
        found = _tokens(original)
    out, seen = [], {original}
    for e in found:
        if e.text not in seen:
            seen.add(e.text)
            out.append(e)
    return out


def scope_names(source: str, lang: str) -> tuple[str, ...]:
    """The functions defined at the top of SOURCE (Python), for wrapping values in."""
    if lang != "python":
        return ()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return ()
    return tuple(n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))


# -- Python ---------------------------------------------------------------------------------------


class _Line:
    """Span arithmetic on one line: ast gives UTF-8 byte columns."""

    def __init__(self, text: str, lineno: int) -> None:
        self.text, self.lineno, self.raw = text, lineno, text.encode("utf-8")

    def holds(self, node: ast.AST) -> bool:
        return getattr(node, "lineno", None) == self.lineno and getattr(node, "end_lineno", None) == self.lineno

    def col(self, byte_col: int) -> int:
        return len(self.raw[:byte_col].decode("utf-8", "replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.col(node.col_offset), self.col(node.end_col_offset)

    def seg(self, node: ast.AST) -> str:
        a, b = self.span(node)
        return self.text[a:b]

    def put(self, a: int, b: int, new: str) -> str:
        return self.text[:a] + new + self.text[b:]


def _python(source: str, line: int, original: str, names: tuple[str, ...]) -> list[LineEdit]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    ln = _Line(original, line + 1)
    out: list[LineEdit] = []
    wrap_targets: list[ast.AST] = []
    both: list[LineEdit] = []
    strings: list[ast.Constant] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and getattr(node, "lineno", None) == ln.lineno:
            out += _statement(ln, node)
            wrap_targets += _values_of(node, ln)
        if not ln.holds(node):
            continue
        if isinstance(node, ast.Compare):
            out += _compare(ln, node)
            both += _both_sides(ln, node)  # listed last, after every other edit
        elif isinstance(node, ast.BinOp):
            out += _binop(ln, node)
        elif isinstance(node, ast.BoolOp):
            out += _boolop(ln, node)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub):
            a, _ = ln.span(node)
            b, _ = ln.span(node.operand)
            out.append(LineEdit(ln.put(a, b, ""), "negation"))
        elif isinstance(node, ast.Call):
            out += _call(ln, node)
        elif isinstance(node, ast.Constant) and type(node.value) is int and 0 <= node.value <= 100:
            a, b = ln.span(node)
            for v in {node.value + 1, node.value - 1} - {-1}:
                out.append(LineEdit(ln.put(a, b, str(v)), "off by one"))
        elif isinstance(node, ast.Constant) and type(node.value) is str:
            strings.append(node)
        elif isinstance(node, ast.Constant) and type(node.value) is bool:
            a, b = ln.span(node)
            out.append(LineEdit(ln.put(a, b, str(not node.value)), "negation"))
        elif isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            a, b = ln.span(node.slice)
            s = ln.seg(node.slice)
            out += [LineEdit(ln.put(a, b, f"{s} + 1"), "off by one"), LineEdit(ln.put(a, b, f"{s} - 1"), "off by one")]
    wrappers = tuple(dict.fromkeys((*WRAPPERS, *names)))
    func = _innermost(tree, ln.lineno)
    local = _local_names(func, ln.lineno)
    for node in wrap_targets[:MAX_WRAP_TARGETS]:
        a, b = ln.span(node)
        inner = ln.seg(node)
        for name in wrappers:
            if not inner.startswith(f"{name}("):
                out.append(LineEdit(ln.put(a, b, f"{name}({inner})"), "wrap"))
        if isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
            out += [LineEdit(ln.put(a, b, f"{inner}.{m}()"), "method") for m in METHODS]
        if isinstance(node, ast.Name):
            by = [n for n in local if n != node.id][:MAX_SLICE_NAMES]
            out += [LineEdit(ln.put(a, b, f"{inner}[{s}]"), "slice") for k in by for s in (f":{k}", f"{k}:")]
    out += _literals(ln, strings, func, source)
    return out + both


def _literals(ln: _Line, strings: list[ast.Constant], inner, source: str) -> list[LineEdit]:
    """Each string literal of the line (STRINGS) replaced by another string literal of its function
    INNER, nearest to the line first, MAX_LITERALS at most (`"d"` -> `"db"`, `''.join` -> `' '.join`):
    a constant copied wrong is a common slip. Docstrings and f-string parts are not literals here."""
    if inner is None or not strings:
        return []
    in_fstring = {id(v) for n in ast.walk(inner) if isinstance(n, ast.JoinedStr) for v in n.values}
    first = inner.body[0] if inner.body else None
    doc = first.value if isinstance(first, ast.Expr) else None
    found = [n for n in ast.walk(inner) if isinstance(n, ast.Constant) and type(n.value) is str]
    found = [n for n in found if n is not doc and id(n) not in in_fstring and n.lineno == n.end_lineno]
    found.sort(key=lambda n: (abs(n.lineno - ln.lineno), n.lineno, n.col_offset))
    written: dict[str, str] = {}  # value -> the first literal of that value as written
    for n in found:
        text = ast.get_source_segment(source, n)
        if text and n.value not in written:
            written[n.value] = text
    out: list[LineEdit] = []
    for node in strings:
        if id(node) in in_fstring:
            continue
        a, b = ln.span(node)
        others = [text for value, text in written.items() if value != node.value][:MAX_LITERALS]
        out += [LineEdit(ln.put(a, b, text), "literal") for text in others]
    return out


def _innermost(tree: ast.AST, lineno: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The innermost function holding line LINENO (1-based)."""
    inner = None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.lineno < lineno <= (node.end_lineno or 0):
            if inner is None or node.lineno > inner.lineno:
                inner = node
    return inner


def _local_names(inner, lineno: int) -> list[str]:
    """The parameters and the names assigned above LINENO in INNER, the innermost function holding it."""
    if inner is None:
        return []
    a = inner.args
    found = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    for node in ast.walk(inner):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.lineno < lineno:
            found.append(node.id)
    return [n for n in dict.fromkeys(found) if n not in ("self", "cls")]


def _statement(ln: _Line, node: ast.stmt) -> list[LineEdit]:
    out: list[LineEdit] = []
    if isinstance(node, ast.AugAssign) and ln.holds(node):
        a, _ = ln.span(node.target)
        b, _ = ln.span(node.value)
        target = ln.seg(node.target)
        for op in ("=", *(o for o in ("+=", "-=") if o != _AUG.get(type(node.op)))):
            out.append(LineEdit(ln.put(a, b, f"{target} {op} "), "assignment"))
    elif isinstance(node, ast.Assign) and ln.holds(node) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name | ast.Subscript | ast.Attribute):
            a, _ = ln.span(target)
            b, _ = ln.span(node.value)
            for op in ("+=", "-="):
                out.append(LineEdit(ln.put(a, b, f"{ln.seg(target)} {op} "), "assignment"))
    elif isinstance(node, ast.If | ast.While) and node.test.lineno == ln.lineno and ln.holds(node.test):
        a, b = ln.span(node.test)
        test = node.test
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            out.append(LineEdit(ln.put(a, b, ln.seg(test.operand)), "negation"))
        else:
            inner = ln.seg(test)
            wrapped = inner if isinstance(test, ast.Name | ast.Call | ast.Attribute | ast.Subscript) else f"({inner})"
            out.append(LineEdit(ln.put(a, b, f"not {wrapped}"), "negation"))
    return out


def _values_of(node: ast.stmt, ln: _Line) -> list[ast.AST]:
    """The values a statement computes on this line, outermost first: the ones worth wrapping."""
    roots: list[ast.AST] = []
    if isinstance(node, ast.Return | ast.Assign | ast.AugAssign | ast.Expr) and node.value is not None:
        roots.append(node.value)
    elif isinstance(node, ast.For):
        roots.append(node.iter)
    elif isinstance(node, ast.If | ast.While):
        roots.append(node.test)
    out: list[ast.AST] = []
    callees = {id(n.func) for root in roots for n in ast.walk(root) if isinstance(n, ast.Call)}
    for root in roots:
        for sub in ast.walk(root):
            if id(sub) in callees:
                continue  # `f` of `f(x)`: wrapping the function is not a value fix
            if not ln.holds(sub) or isinstance(sub, ast.Constant | ast.Starred | ast.Slice | ast.keyword):
                continue
            if isinstance(sub, ast.expr) and not isinstance(sub, ast.BoolOp | ast.Compare | ast.UnaryOp):
                out.append(sub)
            elif isinstance(sub, ast.Compare):
                out += [sub.left, *sub.comparators]
    # comprehension internals (`for x in ...` targets) are not values to wrap
    return [n for n in dict.fromkeys(out) if not (isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))]


def _both_sides(ln: _Line, node: ast.Compare) -> list[LineEdit]:
    """Both sides of a one-operator comparison wrapped alike (`set(a) == set(b)`)."""
    if len(node.ops) != 1:
        return []
    (la, lb), (ra, rb) = ln.span(node.left), ln.span(node.comparators[0])
    left, right, between = ln.seg(node.left), ln.seg(node.comparators[0]), ln.text[lb:ra]
    return [LineEdit(ln.put(la, rb, f"{n}({left}){between}{n}({right})"), "wrap both") for n in WRAPPERS]


def _compare(ln: _Line, node: ast.Compare) -> list[LineEdit]:
    out: list[LineEdit] = []
    left = node.left
    for op, right in zip(node.ops, node.comparators, strict=True):
        _, a = ln.span(left)
        b, _ = ln.span(right)
        gap = ln.text[a:b]
        text, alternatives = _COMPARE[type(op)]
        m = re.search(re.escape(text).replace(r"\ ", r"\s+"), gap)
        if m:
            for alt in alternatives:
                out.append(LineEdit(ln.put(a + m.start(), a + m.end(), alt), "comparison"))
        left = right
    return out


def _binop(ln: _Line, node: ast.BinOp) -> list[LineEdit]:
    out: list[LineEdit] = []
    a, b = ln.span(node)
    _, la = ln.span(node.left)
    rb, _ = ln.span(node.right)
    gap = ln.text[la:rb]
    text, alternatives = _ARITH.get(type(node.op), ("", ()))
    i = gap.find(text) if text else -1
    if i >= 0:
        for alt in alternatives:
            out.append(LineEdit(ln.put(la + i, la + i + len(text), alt), "operator"))
    if isinstance(node.op, ast.Add | ast.Sub) and isinstance(node.right, ast.Constant):
        out.append(LineEdit(ln.put(a, b, ln.seg(node.left)), "off by one"))  # drop the `+ 1`
    if isinstance(node.op, _NON_COMMUTATIVE):
        out.append(LineEdit(ln.put(a, b, ln.seg(node.right) + ln.text[la:rb] + ln.seg(node.left)), "swap"))
    return out


def _boolop(ln: _Line, node: ast.BoolOp) -> list[LineEdit]:
    out: list[LineEdit] = []
    a, b = ln.span(node)
    word, other = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
    inner = ln.text[a:b]
    out.append(LineEdit(ln.put(a, b, re.sub(rf"\b{word}\b", other, inner)), "operator"))
    if len(node.values) == 2:  # a condition too many: keep each operand alone
        out += [LineEdit(ln.put(a, b, ln.seg(keep)), "excess") for keep in node.values]
    return out


def _call(ln: _Line, node: ast.Call) -> list[LineEdit]:
    out: list[LineEdit] = []
    a, b = ln.span(node)
    args = node.args
    for x, y in pairwise(args):
        if isinstance(x, ast.Starred) or isinstance(y, ast.Starred):
            continue
        xa, xb = ln.span(x)
        ya, yb = ln.span(y)
        out.append(LineEdit(ln.text[:xa] + ln.seg(y) + ln.text[xb:ya] + ln.seg(x) + ln.text[yb:], "swap"))
    if len(args) == 1 and not node.keywords and isinstance(node.func, ast.Name) and not isinstance(args[0], ast.Starred):
        if node.func.id in _BUILTINS or node.func.id[:1].islower():
            out.append(LineEdit(ln.put(a, b, ln.seg(args[0])), "unwrap"))
    if not args and not node.keywords and isinstance(node.func, ast.Attribute):
        out.append(LineEdit(ln.put(a, b, ln.seg(node.func.value)), "unwrap"))  # `s.lower()` -> `s`
    for kw in node.keywords:
        if isinstance(kw.value, ast.Constant) and type(kw.value.value) is bool:
            ka, kb = ln.span(kw.value)
            out.append(LineEdit(ln.put(ka, kb, str(not kw.value.value)), "negation"))
    return out


_BUILTINS = frozenset(dir(builtins))


# -- other languages: token patterns --------------------------------------------------------------

_TOKEN_SWAPS = [
    (r"<=", ("<", ">=")),
    (r">=", (">", "<=")),
    (r"(?<![<\-=])<(?![<=])", ("<=", ">")),
    (r"(?<![>\-=])>(?![>=])", (">=", "<")),
    (r"===", ("!==",)),
    (r"!==", ("===",)),
    (r"(?<![=!<>])==(?!=)", ("!=",)),
    (r"!=(?!=)", ("==",)),
    (r"&&", ("||",)),
    (r"\|\|", ("&&",)),
    (r"\+=", ("=", "-=")),
    (r"-=", ("=", "+=")),
    (r"(?<![=!<>+\-*/%&|^])=(?![=>])", ("+=", "-=")),
]
_OFF_BY_ONE = re.compile(r"\s*([+-])\s*1\b(?!\.)")


def _tokens(line: str) -> list[LineEdit]:
    code, _, _ = line.partition("//") if "//" in line and '"' not in line else (line, "", "")
    out: list[LineEdit] = []
    for pattern, alternatives in _TOKEN_SWAPS:
        for m in re.finditer(pattern, code):
            for alt in alternatives:
                out.append(LineEdit(line[: m.start()] + alt + line[m.end() :], "comparison"))
    for m in _OFF_BY_ONE.finditer(code):
        out.append(LineEdit(line[: m.start()] + line[m.end() :], "off by one"))
        flip = "-" if m.group(1) == "+" else "+"
        out.append(LineEdit(line[: m.start(1)] + flip + line[m.end(1) :], "off by one"))
    m = re.match(r"^(\s*(?:\}\s*else\s+)?(?:if|while)\s*\()(.*)(\)\s*\{?\s*)$", line)
    if m:
        cond = m.group(2)
        neg = cond[2:-1] if cond.startswith("!(") and cond.endswith(")") else f"!({cond})"
        out.append(LineEdit(m.group(1) + neg + m.group(3), "negation"))
    return out
