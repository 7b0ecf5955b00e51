"""A small HTTP-ish client with retries (the transport is injected, so tests need no network)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Response:
    status: int
    body: str


def retry(times: int, on: tuple[type[BaseException], ...], wait: float = 0.0) -> Callable:
    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for attempt in range(times):
                try:
                    return func(*args, **kwargs)
                except on:
                    if attempt == times - 1:
                        raise
                    time.sleep(wait)

        return wrapper

    return decorate


class Client:
    def __init__(self, transport: Callable[[str], Response], base: str) -> None:
        self.transport = transport
        self.base = base.rstrip("/")

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    @retry(
        times=3,
        on=(ConnectionError,),
        wait=0.0,
    )
    def get(self, path: str) -> str:
        """The body of PATH; an error status raises RuntimeError."""
        response = self.transport(self.url(path))
        if response.status >= 400:
            raise RuntimeError(f"{response.status} for {path}")
        return response.body.decode()

    def get_lines(self, path: str) -> list[str]:
        return [line for line in self.get(path).splitlines() if line]

    def exists(self, path: str) -> bool:
        try:
            self.get(path)
        except RuntimeError:
            return False
        return True


def flaky(responses: list[object]) -> Callable[[str], Response]:
    """A transport answering with RESPONSES in turn (an exception instance is raised)."""
    queue = list(responses)

    def transport(url: str) -> Response:
        item = queue.pop(0)
        if isinstance(item, BaseException):
            raise item
        return item

    return transport
