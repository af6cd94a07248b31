"""Workload for reading at scale: makes 2.5M records (about 12M small objects) and keeps one in a hundred.

Traced, it records about 50M events (half allocations, nearly as many frees) while the live set
stays near 25,000 records: a long capture whose report must not cost memory per event.
Usage: python keep_one_in_100.py [SCALE]   (SCALE multiplies the amount of work; default 1.0)
"""

from __future__ import annotations

import sys

OBJECTS = 2_500_000
KEEP_EVERY = 100


class Record:
    __slots__ = ("key", "tags", "value")

    def __init__(self, key: int, value: str, tags: tuple[str, ...]) -> None:
        self.key = key
        self.value = value
        self.tags = tags


def make(index: int) -> Record:
    return Record(index, f"value-{index}", (str(index % 7), str(index % 11)))


def run(objects: int) -> list[Record]:
    kept = []
    for index in range(objects):
        record = make(index)
        if index % KEEP_EVERY == 0:
            kept.append(record)
    return kept


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    kept = run(int(OBJECTS * scale))
    print(f"kept {len(kept)} records")


if __name__ == "__main__":
    main()
