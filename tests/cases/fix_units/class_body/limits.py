"""Upload and paging limits, read once from the environment."""

from __future__ import annotations

import os


def parse_size(text: str) -> int:
    """'512', '10k' or '3M' as a number of bytes."""
    text = text.strip().lower()
    factor = 1
    if text.endswith("k"):
        factor, text = 1024, text[:-1]
    elif text.endswith("m"):
        factor, text = 1024 * 1024, text[:-1]
    return int(text) * factor


def env(name: str, default: str) -> str:
    return os.environ.get(f"APP_{name}", default)


class Limits:
    """What one request may ask for."""

    MAX_UPLOAD = parse_size(env("MAX_UPLOAD", "10M"))
    MAX_FILES = int(env("MAX_FILES", "20"))
    PAGE_SIZE = int(env("PAGE_SIZE", "50 items"))
    MAX_PAGE = int(env("MAX_PAGE", "1000"))

    @classmethod
    def check_upload(cls, sizes: list[int]) -> list[str]:
        problems = []
        if len(sizes) > cls.MAX_FILES:
            problems.append(f"at most {cls.MAX_FILES} files")
        if sum(sizes) > cls.MAX_UPLOAD:
            problems.append(f"at most {cls.MAX_UPLOAD} bytes in all")
        return problems

    @classmethod
    def page(cls, number: int) -> tuple[int, int]:
        if not 1 <= number <= cls.MAX_PAGE:
            raise ValueError(f"page {number} is out of range")
        start = (number - 1) * cls.PAGE_SIZE
        return start, start + cls.PAGE_SIZE


def human(size: int) -> str:
    for unit in ("B", "k", "M"):
        if size < 1024:
            return f"{size}{unit}"
        size //= 1024
    return f"{size}G"


def describe() -> str:
    return "; ".join(
        [
            f"uploads up to {human(Limits.MAX_UPLOAD)}",
            f"{Limits.MAX_FILES} files",
            f"{Limits.PAGE_SIZE} per page",
        ]
    )


def paginate(items: list, number: int) -> list:
    start, end = Limits.page(number)
    return items[start:end]
