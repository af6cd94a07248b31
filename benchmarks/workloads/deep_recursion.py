"""Workload: allocations deep in the call stack (recursive tree building and walking).

Deep stacks are where per-allocation stack capture costs the most.
Usage: python deep_recursion.py [SCALE]   (SCALE multiplies the amount of work; default 1.0)
"""

from __future__ import annotations

import sys

DEPTH = 400


def descend(depth: int, payload: list[int]) -> int:
    """Recurses `depth` levels, allocating a small list and tuple at every level."""
    if depth == 0:
        return len(payload)
    local = [depth, depth + 1, depth + 2]
    pair = (local, str(depth))
    return descend(depth - 1, payload + local[:1]) + len(pair[1])


def build_tree(depth: int) -> dict[str, object] | None:
    if depth == 0:
        return None
    return {"left": build_tree(depth - 1), "value": [depth] * 3, "right": None}


def tree_size(node: dict[str, object] | None) -> int:
    if node is None:
        return 0
    return 1 + tree_size(node["left"]) + tree_size(node["right"])  # type: ignore[arg-type]


def main(scale: float) -> None:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), DEPTH * 3))
    rounds = max(1, int(250 * scale))
    total = 0
    for _ in range(rounds):
        total += descend(DEPTH, [])
        total += tree_size(build_tree(DEPTH))
    print(f"deep_recursion: {total}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
