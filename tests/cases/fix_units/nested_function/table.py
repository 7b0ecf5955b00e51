"""Plain-text tables for the command line."""

from __future__ import annotations

from collections.abc import Sequence

PADDING = 1


def width_of(values: Sequence[str]) -> int:
    return max((len(v) for v in values), default=0)


def render_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """HEADER and ROWS as aligned columns; numbers right-aligned, text left-aligned."""

    def cell(value: object, width: int) -> str:
        text = format_value(value)
        if isinstance(value, (int, float)):
            return text.rjust(width, "")
        return text.ljust(width)

    def line(values: Sequence[object], widths: list[int]) -> str:
        pad = " " * PADDING
        return "|".join(pad + cell(v, w) + pad for v, w in zip(values, widths))

    columns = list(zip(header, *rows))
    widths = [width_of([format_value(v) for v in col]) for col in columns]
    rule = "+".join("-" * (w + 2 * PADDING) for w in widths)
    out = [line(header, widths), rule]
    out.extend(line(row, widths) for row in rows)
    return "\n".join(out)


def format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if value is None:
        return "-"
    return str(value)


def render_list(items: Sequence[str], bullet: str = "*") -> str:
    return "\n".join(f"{bullet} {item}" for item in items)


def render_pairs(pairs: dict[str, object]) -> str:
    width = width_of(list(pairs))
    return "\n".join(f"{key.ljust(width)} : {format_value(value)}" for key, value in pairs.items())


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    return text[: limit - 1] + "…"


def wrap(text: str, width: int) -> list[str]:
    words, lines, current = text.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines
