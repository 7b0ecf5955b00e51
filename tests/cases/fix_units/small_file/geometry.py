import math


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(b[0] - a[0], b[1] - a[1])


def midpoint(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    return ((a[0] + b[0]) / 2, (a[1] + b[0]) / 2)


def perimeter(points: list[tuple[float, float]]) -> float:
    return sum(distance(p, q) for p, q in zip(points, points[1:] + points[:1]))
