"""Heap snapshot benchmark: memhound beside guppy3, Pympler and objgraph on one heap.

The heap: 200k instances of a small class in a 4-ary tree, each with its attribute dict, a list
of children, strings, an int and a float (about 1.6M objects in all, counting the interpreter's
own). Every tool measures the same heap in this process; a tool that is not installed is skipped.
`run_heap_benchmarks()` returns rows for benchmarks/run.py; run this file to print them.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

INSTANCES = 200_000
QUICK_INSTANCES = 20_000
SNAPSHOT_BAR_S = 0.25
ANALYSIS_BAR_S = 0.25
BYTES_PER_OBJECT_BAR = 32
EXPLAIN_BAR_S = 0.050


class Item:
    def __init__(self, i: int, parent: Item | None) -> None:
        self.parent = parent
        self.name = f"item-{i}"
        self.children: list[Item] = []
        self.attrs = {"id": i * 1000, "tag": f"t{i}", "pos": (i, -i)}
        self.value = float(i)


def build_heap(instances: int) -> list[Item]:
    items = [Item(0, None)]
    for i in range(1, instances):
        parent = items[(i - 1) // 4]
        item = Item(i, parent)
        parent.children.append(item)
        items.append(item)
    return items


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of `runs` timings, and the last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        result = None
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def row(tool: str, operation: str, seconds: float, objects: int | None = None, **extra: Any) -> dict[str, Any]:
    return {"tool": tool, "operation": operation, "seconds": round(seconds, 4), "objects": objects, **extra}


def bar(measured: float, limit: float, text: str) -> dict[str, Any]:
    return {"bar": text, "met": measured <= limit, "measured": round(measured, 4)}


def memhound_rows(deep_leaf: Item) -> list[dict[str, Any]]:
    import memhound

    seconds, snap = best_of(3, memhound.snapshot)
    count = snap.object_count
    per_object = snap.memory_bytes() / count
    rows = [
        row("memhound", "snapshot", seconds, count, bytes_per_object=round(per_object, 1),
            **bar(seconds, SNAPSHOT_BAR_S, f"snapshot <= {SNAPSHOT_BAR_S} s")),
        row("memhound", "graph memory", 0.0, count, bytes_per_object=round(per_object, 1),
            **bar(per_object, BYTES_PER_OBJECT_BAR, f"<= {BYTES_PER_OBJECT_BAR} B/object")),
    ]
    analysis_s, _ = best_of(3, lambda: memhound.snapshot().compute())
    analysis_s -= seconds  # the snapshot inside is timed above
    rows.append(row("memhound", "dominators + retained sizes", analysis_s, count,
                    bytes_per_object=round(snap.analysis_bytes() / count, 1),
                    **bar(analysis_s, ANALYSIS_BAR_S, f"dominators + retained <= {ANALYSIS_BAR_S} s")))
    census_s, _ = best_of(3, lambda: snap.by_type(20))
    rows.append(row("memhound", "census by type (on the snapshot)", census_s, count))
    explain_s, explanation = best_of(3, lambda: memhound.explain(deep_leaf, snap))
    rows.append(row("memhound", f"explain (on the snapshot, {len(explanation.steps)} steps)", explain_s, count,
                    **bar(explain_s, EXPLAIN_BAR_S, f"explain <= {EXPLAIN_BAR_S * 1000:.0f} ms")))
    fresh_s, _ = best_of(1, lambda: memhound.explain(deep_leaf))
    rows.append(row("memhound", "explain (fresh snapshot included)", fresh_s, count))
    return rows


def reference_rows() -> list[dict[str, Any]]:
    def closure() -> int:
        seen: set[int] = set()
        pending = gc.get_objects()
        while pending:
            obj = pending.pop()
            if id(obj) not in seen:
                seen.add(id(obj))
                pending.extend(gc.get_referents(obj))
        return len(seen)

    seconds, count = best_of(1, closure)
    return [row("pure Python", "gc.get_objects + get_referents closure", seconds, count)]


def guppy_rows() -> list[dict[str, Any]]:
    from guppy import hpy

    heap = hpy()
    seconds, result = best_of(1, heap.heap)
    return [row("guppy3", "hpy().heap()", seconds, result.count)]


def pympler_rows() -> list[dict[str, Any]]:
    from pympler import muppy, summary

    objects_s, objects = best_of(1, muppy.get_objects)
    summary_s, _ = best_of(1, lambda: summary.summarize(objects))
    count = len(objects)
    del objects
    return [
        row("Pympler", "muppy.get_objects()", objects_s, count),
        row("Pympler", "summary.summarize()", summary_s, count),
    ]


def objgraph_rows(deep_leaf: Item) -> list[dict[str, Any]]:
    import objgraph

    stats_s, _ = best_of(1, objgraph.typestats)
    chain_s, chain = best_of(1, lambda: objgraph.find_backref_chain(deep_leaf, objgraph.is_proper_module, max_depth=100))
    return [
        row("objgraph", "typestats()", stats_s),
        row("objgraph", f"find_backref_chain ({len(chain) - 1} steps)", chain_s),
    ]


def run_heap_benchmarks(quick: bool = False) -> list[dict[str, Any]]:
    quick = quick or os.environ.get("MEMHOUND_BENCH_QUICK") == "1"
    items = build_heap(QUICK_INSTANCES if quick else INSTANCES)
    deep_leaf = items[-1]
    gc.collect()
    rows = memhound_rows(deep_leaf)
    tools: list[tuple[str, Callable[[], list[dict[str, Any]]]]] = [
        ("pure Python", reference_rows),
        ("guppy3", guppy_rows),
        ("Pympler", pympler_rows),
        ("objgraph", lambda: objgraph_rows(deep_leaf)),
    ]
    for name, measure in tools:
        try:
            rows += measure()
        except ImportError:
            rows.append(row(name, "not installed", 0.0))
        gc.collect()
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| tool | operation | seconds | objects | bytes/object |", "|---|---|---:|---:|---:|"]
    for r in rows:
        per_object = r.get("bytes_per_object", "")
        lines.append(f"| {r['tool']} | {r['operation']} | {r['seconds']:.4f} | {r['objects'] or ''} | {per_object} |")
    return "\n".join(lines)


if __name__ == "__main__":
    results = run_heap_benchmarks(quick="--quick" in sys.argv)
    print(markdown(results))
    print(json.dumps(results, indent=1))
