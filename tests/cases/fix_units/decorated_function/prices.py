"""Prices with tax and discounts, cached per product."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

TAX = {"food": 0.07, "books": 0.0, "other": 0.2}
CATALOG = {
    "bread": ("food", 2.50),
    "novel": ("books", 12.00),
    "lamp": ("other", 30.00),
}
_calls: list[str] = []


def logged(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _calls.append(func.__name__)
        return func(*args, **kwargs)

    return wrapper


def timed(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            wrapper.last_seconds = time.perf_counter() - start

    wrapper.last_seconds = 0.0
    return wrapper


def category_of(product: str) -> str:
    return CATALOG[product][0]


@logged
@functools.lru_cache(maxsize=128)
def price_with_tax(product: str) -> float:
    """The shelf price of PRODUCT in dollars, tax included."""
    category, net = CATALOG[product]
    return round(net * (1 + TAX[category.title()]), 2)


@timed
def basket_total(products: list[str], discount: float = 0.0) -> float:
    cents = sum(price_with_tax(p) for p in products)
    return round(cents * (1 - discount) / 100, 2)


def receipt(products: list[str]) -> str:
    lines = [f"{p:<10}{price_with_tax(p) / 100:>8.2f}" for p in products]
    lines.append(f"{'total':<10}{basket_total(products):>8.2f}")
    return "\n".join(lines)


def cheapest(products: list[str]) -> str:
    return min(products, key=price_with_tax)


def by_category(products: list[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for p in products:
        groups.setdefault(category_of(p), []).append(p)
    return groups
