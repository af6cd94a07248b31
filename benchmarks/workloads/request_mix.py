"""Workload: a 'realistic' mix: a request handler that parses, validates, caches and renders.

Usage: python request_mix.py [SCALE]   (SCALE multiplies the amount of work; default 1.0)
"""

from __future__ import annotations

import json
import sys
from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass
class Order:
    customer: str
    items: list[tuple[str, int]]
    notes: list[str] = field(default_factory=list)

    @property
    def total_quantity(self) -> int:
        return sum(quantity for _, quantity in self.items)


class BoundedCache:
    """An LRU cache with a fixed capacity: memory stays flat while entries churn."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.entries: OrderedDict[str, str] = OrderedDict()

    def put(self, key: str, value: str) -> None:
        self.entries[key] = value
        self.entries.move_to_end(key)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)


def make_request(index: int) -> str:
    items = [[f"sku-{(index * 7 + j) % 500}", j + 1] for j in range(index % 6 + 1)]
    return json.dumps(
        {"customer": f"c{index % 300}", "items": items, "notes": ["gift"] * (index % 2)}
    )


def handle(raw: str, cache: BoundedCache) -> str:
    body = json.loads(raw)
    order = Order(body["customer"], [(sku, int(qty)) for sku, qty in body["items"]], body["notes"])
    if order.total_quantity <= 0:
        raise ValueError("empty order")
    lines = [f"{sku:>10} x{qty}" for sku, qty in order.items]
    rendered = f"Order for {order.customer}\n" + "\n".join(lines)
    cache.put(order.customer, rendered)
    return rendered


def main(scale: float) -> None:
    count = max(1, int(40000 * scale))
    cache = BoundedCache(capacity=256)
    size = sum(len(handle(make_request(i), cache)) for i in range(count))
    print(f"request_mix: {size} {len(cache.entries)}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
