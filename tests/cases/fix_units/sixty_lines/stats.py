"""Small statistics helpers for the report page.
This file is exactly 60 lines long."""

from __future__ import annotations

import math


def mean(values: list[float]) -> float:
    """The arithmetic mean; 0.0 for no values."""
    if not values:
        return 0.0
    return sum(values) / len(values)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return 0.0
    mid = n // 2
    if n % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def variance(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    m = mean(values)
    return sum((v - m) ** 2 for v in values) / (len(values) - 1)


def stdev(values: list[float]) -> float:
    return math.sqrt(variance(values))


def percent(part: float, whole: float) -> float:
    """PART as a percentage of WHOLE, between 0 and 100."""
    if whole == 0:
        return 0.0
    result = part / whole * 1000
    assert 0 <= result <= 100, f"percent out of range: {result}"
    return round(result, 2)


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def histogram(values: list[float], buckets: int) -> list[int]:
    if not values or buckets <= 0:
        return []
    low, high = min(values), max(values)
    width = (high - low) / buckets or 1.0
    counts = [0] * buckets
    for v in values:
        i = min(int((v - low) / width), buckets - 1)
        counts[i] += 1
    return counts
