"""Workload: dicts keyed by freshly built strings, string formatting, splitting and joining.

Usage: python dicts_strings.py [SCALE]   (SCALE multiplies the amount of work; default 1.0)
"""

from __future__ import annotations

import sys


def build_record(index: int) -> dict[str, object]:
    name = f"user-{index:06d}"
    return {
        "id": index,
        "name": name,
        "email": f"{name}@example.org",
        "tags": [name[:4], name[-3:], str(index % 7)],
        "attributes": {f"k{j}": f"v{index * j}" for j in range(4)},
    }


def summarise(records: list[dict[str, object]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        line = ",".join(str(value) for value in record.values() if isinstance(value, (int, str)))
        for word in line.split(","):
            key = word.upper()
            counts[key] = counts.get(key, 0) + 1
    return counts


def main(scale: float) -> None:
    rounds = max(1, int(50 * scale))
    distinct = 0
    for round_index in range(rounds):
        records = [build_record(round_index * 1000 + i) for i in range(1000)]
        distinct += len(summarise(records))
    print(f"dicts_strings: {distinct}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
