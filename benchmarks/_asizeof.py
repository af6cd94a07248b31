"""asizeof: memhound.asizeof against pympler.asizeof.asizeof on the same object graph.

Usage: python _asizeof.py NODES OUTPUT.json
Runs in its own process (a fresh heap, and a crash cannot take the runner down). Builds a tree of
NODES small objects with their dicts, lists and strings, times each sizer (median of a few calls)
and writes {"objects", "nodes", "repeat", "tools": {name: {"seconds", "bytes"} | {"error"}}}.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
import types
from collections.abc import Callable

REPEAT = 3


class Item:
    def __init__(self, index: int, parent: Item | None) -> None:
        self.name = f"item-{index}"
        self.values = [index, index * 2, index * 3]
        self.meta = {"index": index, "label": str(index % 97)}
        self.parent = parent
        self.children: list[Item] = []


def build_graph(nodes: int) -> Item:
    """A tree with `nodes` items, each with 4 children until the count is reached (breadth-first)."""
    root = Item(0, None)
    frontier, created = [root], 1
    while created < nodes:
        parent = frontier.pop(0)
        for _ in range(min(4, nodes - created)):
            child = Item(created, parent)
            parent.children.append(child)
            frontier.append(child)
            created += 1
    return root


def count_objects(root: object) -> int:
    """Distinct objects reachable from root through gc referents, not counting classes/modules."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, types.ModuleType)):
            continue
        seen.add(id(obj))
        stack.extend(gc.get_referents(obj))
    return len(seen)


def load_sizers() -> dict[str, Callable[[object], int] | str]:
    """Each sizer, or why it is unavailable."""
    sizers: dict[str, Callable[[object], int] | str] = {}
    try:
        from pympler import asizeof as pympler_asizeof

        sizers["pympler.asizeof"] = pympler_asizeof.asizeof
    except ImportError:
        sizers["pympler.asizeof"] = "not installed"
    try:
        import memhound
    except ImportError:
        sizers["memhound.asizeof"] = "not installed"
    else:
        sizer = getattr(memhound, "asizeof", None)
        sizers["memhound.asizeof"] = sizer if callable(sizer) else "not implemented yet"
    return sizers


def time_sizer(sizer: Callable[[object], int], root: object) -> dict[str, object]:
    timings, size = [], 0
    for _ in range(REPEAT):
        start = time.perf_counter()
        size = int(sizer(root))
        timings.append(time.perf_counter() - start)
    return {"seconds": statistics.median(timings), "bytes": size}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: _asizeof.py NODES OUTPUT.json", file=sys.stderr)
        return 2
    nodes, output = int(argv[0]), argv[1]
    root = build_graph(nodes)
    tools: dict[str, dict[str, object]] = {}
    for name, sizer in load_sizers().items():
        try:
            tools[name] = {"error": sizer} if isinstance(sizer, str) else time_sizer(sizer, root)
        except Exception as exc:  # noqa: BLE001 - a sizer's own failure is a result to report, not a crash
            tools[name] = {"error": f"failed: {type(exc).__name__}: {exc}"}
    result = {"nodes": nodes, "objects": count_objects(root), "repeat": REPEAT, "tools": tools}
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
