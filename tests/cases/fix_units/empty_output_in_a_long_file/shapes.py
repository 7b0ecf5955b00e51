"""Areas and volumes of common shapes (every size must be positive)."""

from __future__ import annotations

import math


def positive(*sizes: float) -> None:
    for size in sizes:
        if size <= 0:
            raise ValueError(f"sizes must be positive, got {size}")


def area_of_square(side: float) -> float:
    """The area of a square."""
    positive(side)
    return side * side


def area_of_rectangle(width: float, height: float) -> float:
    """The area of a rectangle."""
    positive(width, height)
    return width * height


def area_of_circle(radius: float) -> float:
    """The area of a circle."""
    positive(radius)
    return math.pi * radius ** 2


def area_of_triangle(base: float, height: float) -> float:
    """The area of a triangle."""
    positive(base, height)
    return base * height / 2


def area_of_ellipse(a: float, b: float) -> float:
    """The area of a ellipse."""
    positive(a, b)
    return math.pi * a * b


def area_of_trapezoid(a: float, b: float, height: float) -> float:
    """The area of a trapezoid."""
    positive(a, b, height)
    return (a + b) * height / 2


def area_of_rhombus(p: float, q: float) -> float:
    """The area of a rhombus."""
    positive(p, q)
    return p * q / 2


def area_of_hexagon(side: float) -> float:
    """The area of a hexagon."""
    positive(side)
    return 3 * math.sqrt(3) / 2 * side ** 2


def area_of_octagon(side: float) -> float:
    """The area of a octagon."""
    positive(side)
    return 2 * (1 + math.sqrt(2)) * side ** 2


def area_of_sector(radius: float, angle: float) -> float:
    """The area of a sector."""
    positive(radius, angle)
    return radius ** 2 * angle / 2


def area_of_annulus(outer: float, inner: float) -> float:
    """The area of a annulus."""
    positive(outer, inner)
    return math.pi * (outer ** 2 - inner ** 2)


def area_of_kite(p: float, q: float) -> float:
    """The area of a kite."""
    positive(p, q)
    return p * q / 2


def area_of_pentagon(side: float) -> float:
    """The area of a pentagon."""
    positive(side)
    return math.sqrt(5 * (5 + 2 * math.sqrt(5))) / 4 * side ** 2


def area_of_parallelogram(base: float, height: float) -> float:
    """The area of a parallelogram."""
    positive(base, height)
    return base * height


def area_of_semicircle(radius: float) -> float:
    """The area of a semicircle."""
    positive(radius)
    return math.pi * radius ** 2 / 2


def volume_of_cube(side: float) -> float:
    """The volume of a cube."""
    positive(side)
    return side ** 3


def volume_of_sphere(radius: float) -> float:
    """The volume of a sphere."""
    positive(radius)
    return 4 / 3 * math.pi * radius ** 3


def volume_of_cylinder(radius: float, height: float) -> float:
    """The volume of a cylinder."""
    positive(radius, height)
    return math.pi * radius ** 2 * height


def volume_of_cone(radius: float, height: float) -> float:
    """The volume of a cone."""
    positive(radius, height)
    return math.pi * radius ** 2 * height / 3


def volume_of_pyramid(base_area: float, height: float) -> float:
    """The volume of a pyramid."""
    positive(base_area, height)
    return base_area * height / 3


def volume_of_prism(base_area: float, height: float) -> float:
    """The volume of a prism."""
    positive(base_area, height)
    return base_area * height


def volume_of_torus(major: float, minor: float) -> float:
    """The volume of a torus."""
    positive(major, minor)
    return 2 * math.pi ** 2 * major * minor ** 2


def describe(name: str, value: float) -> str:
    return f"{name}: {value:.3f}"


FORMULAS = {
    "square": area_of_square,
    "rectangle": area_of_rectangle,
    "circle": area_of_circle,
    "triangle": area_of_triangle,
    "ellipse": area_of_ellipse,
    "trapezoid": area_of_trapezoid,
    "rhombus": area_of_rhombus,
    "hexagon": area_of_hexagon,
    "octagon": area_of_octagon,
    "sector": area_of_sector,
    "annulus": area_of_annulus,
    "kite": area_of_kite,
    "pentagon": area_of_pentagon,
    "parallelogram": area_of_parallelogram,
    "semicircle": area_of_semicircle,
    "cube": volume_of_cube,
    "sphere": volume_of_sphere,
    "cylinder": volume_of_cylinder,
    "cone": volume_of_cone,
    "pyramid": volume_of_pyramid,
    "prism": volume_of_prism,
    "torus": volume_of_torus,
}
