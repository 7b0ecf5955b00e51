"""Stock levels per warehouse."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    warehouse: str
    quantity: int


def parse(rows: list[str]) -> list[Item]:
    items = []
    for row in rows:
        sku, name, warehouse, quantity = (cell.strip() for cell in row.split(";"))
        items.append(Item(sku, name, warehouse, int(quantity)))
    return items


def stock_by_sku(items: list[Item]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for item in items:
        totals[item.sku] += item.quantity
    return dict(totals)


def low_stock(items: list[Item], threshold: int = 5) -> list[str]:
    totals = stock_by_sku(items)
    return sorted(sku for sku, qty in totals.items() if qty < threshold)


def warehouses(items: list[Item]) -> list[str]:
    return sorted({item.warehouse for item in items})


def move(items: list[Item], sku: str, source: str, target: str, quantity: int) -> list[Item]:
    out = []
    for item in items:
        if item.sku == sku and item.warehouse == source:
            if item.quantity < quantity:
                raise ValueError(f"only {item.quantity} of {sku} in {source}")
            out.append(Item(item.sku, item.name, source, item.quantity - quantity))
            out.append(Item(item.sku, item.name, target, quantity)
        else:
            out.append(item)
    return out


def report(items: list[Item]) -> str:
    lines = []
    for warehouse in warehouses(items):
        here = [i for i in items if i.warehouse == warehouse]
        lines.append(f"{warehouse}: {sum(i.quantity for i in here)} units")
        for item in sorted(here, key=lambda i: i.sku):
            lines.append(f"  {item.sku} {item.name}: {item.quantity}")
    return "\n".join(lines)


def restock_orders(items: list[Item], target: int = 20) -> dict[str, int]:
    return {sku: target - qty for sku, qty in stock_by_sku(items).items() if qty < target}
