"""Order statistics for the sales dashboard."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Order:
    customer: str
    items: int
    total: float
    refunded: bool = False


def parse_line(line: str) -> Order:
    customer, items, total, refunded = line.split(",")
    return Order(customer.strip(), int(items), float(total), refunded.strip() == "yes")


def load(text: str) -> list[Order]:
    return [parse_line(line) for line in text.splitlines() if line.strip()]


def revenue(orders: list[Order]) -> float:
    return sum(o.total for o in orders if not o.refunded)


def refund_rate(orders: list[Order]) -> float:
    """The share of orders refunded; 0.0 when there are no orders."""
    refunded = [o for o in orders if o.refunded]
    return len(refunded) / len(orders)


def average_basket(orders: list[Order]) -> float:
    kept = [o for o in orders if not o.refunded]
    if not kept:
        return 0.0
    return sum(o.items for o in kept) / len(kept)


def top_customers(orders: list[Order], n: int = 3) -> list[str]:
    totals: dict[str, float] = {}
    for o in orders:
        if not o.refunded:
            totals[o.customer] = totals.get(o.customer, 0.0) + o.total
    return sorted(totals, key=lambda c: (-totals[c], c))[:n]


def summarize(orders: list[Order]) -> dict[str, float]:
    return {
        "revenue": revenue(orders),
        "refund_rate": refund_rate(orders),
        "average_basket": average_basket(orders),
    }


def report(text: str) -> str:
    orders = load(text)
    numbers = summarize(orders)
    lines = [f"{key}: {value:.2f}" for key, value in numbers.items()]
    best = top_customers(orders)
    if best:
        lines.append("top: " + ", ".join(best))
    return "\n".join(lines)


def main(path: str) -> None:
    with open(path, encoding="utf-8") as fh:
        print(report(fh.read()))
