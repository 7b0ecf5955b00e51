"""Unit conversions for the weather station (this file has Windows newlines)."""

from __future__ import annotations

import math

KNOTS_PER_MS = 1.943844
HPA_PER_INHG = 33.8639


def celsius_to_fahrenheit(c: float) -> float:
    return c * 9 / 5 + 32


def fahrenheit_to_celsius(f: float) -> float:
    return (f - 32) * 5 / 9


def ms_to_knots(speed: float) -> float:
    return speed * KNOTS_PER_MS


def knots_to_ms(speed: float) -> float:
    return speed / KNOTS_PER_MS


def inhg_to_hpa(pressure: float) -> float:
    return pressure * HPA_PER_INHG


def wind_chill(temp_c: float, wind_kmh: float) -> float:
    """Felt temperature in Celsius (valid at or below 10 C and above 4.8 km/h)."""
    if temp_c > 10 or wind_kmh <= 4.8:
        return temp_c
    v = wind_kmh**0.16
    return round(13.12 + 0.6215 * temp_c - 11.37 * v + 0.3965 * temp_c * v, 1)


def beaufort(speed_ms: float) -> int:
    limits = [0.5, 1.6, 3.4, 5.5, 8.0, 10.8, 13.9, 17.2, 20.8, 24.5, 28.5, 32.7]
    for force, limit in enumerate(limits):
        if speed_ms < limit:
            return force
    return 12


def compass(degrees: float) -> str:
    points = ["N", "NE", "E", "SE", "S", "SW", "W", "NW"]
    return points[round(degrees / 45)]


def describe(temp_c: float, wind_ms: float, direction: float) -> str:
    return (
        f"{temp_c:.1f} C ({celsius_to_fahrenheit(temp_c):.0f} F), "
        f"wind {beaufort(wind_ms)} Bft from {compass(direction)}"
    )


def daily_range(readings: list[float]) -> tuple[float, float]:
    if not readings:
        raise ValueError("no readings")
    return min(readings), max(readings)


def dew_point(temp_c: float, humidity: float) -> float:
    """Magnus formula, in Celsius."""
    a, b = 17.62, 243.12
    gamma = a * temp_c / (b + temp_c) + math.log(humidity / 100)
    return round(b * gamma / (a - gamma), 1)
