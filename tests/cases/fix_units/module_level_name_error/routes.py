"""URL routing for the small web app: a table of patterns built once at import."""

from __future__ import annotations

import re
from collections.abc import Callable

Handler = Callable[[dict[str, str]], str]


def home(params: dict[str, str]) -> str:
    return "welcome"


def show_user(params: dict[str, str]) -> str:
    return f"user {params['id']}"


def show_post(params: dict[str, str]) -> str:
    return f"post {params['slug']} by {params['id']}"


def not_found(params: dict[str, str]) -> str:
    return "404"


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """'/users/<id>' as a regular expression with named groups."""
    regex = re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", pattern)
    return re.compile(f"^{regex}$")


def build_routes(table: dict[str, Handler]) -> list[tuple[re.Pattern[str], Handler]]:
    return [(compile_pattern(pattern), handler) for pattern, handler in table.items()]


HANDLERS = {
    "/": home,
    "/users/<id>": show_user,
    "/users/<id>/posts/<slug>": show_post,
}

ROUTES = build_routes(HANDLER)


def dispatch(path: str) -> str:
    for pattern, handler in ROUTES:
        m = pattern.match(path)
        if m:
            return handler(m.groupdict())
    return not_found({})


def links(paths: list[str]) -> list[str]:
    return [f'<a href="{p}">{dispatch(p)}</a>' for p in paths]


def known(path: str) -> bool:
    return any(pattern.match(path) for pattern, _ in ROUTES)


def reverse(name: str, **params: str) -> str:
    for pattern, handler in HANDLERS.items():
        if handler.__name__ == name:
            return re.sub(r"<(\w+)>", lambda m: params[m.group(1)], pattern)
    raise KeyError(name)
