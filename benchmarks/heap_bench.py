"""Heap snapshot benchmark: memhound beside guppy3, Pympler and objgraph on one heap.

The heap: 200k instances of a small class in a 4-ary tree, each with a dict, a list of
children, two strings, an int and a float (about 1.65M objects in all, counting the interpreter's
own). Every tool measures the same heap in this process; a tool that is not installed is skipped.
`run_heap_benchmarks()` returns rows for benchmarks/run.py; run this file to print them.
"""

from __future__ import annotations

import gc
import json
import os
import signal
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
BACKREF_TIMEOUT_S = 30  # objgraph's backward search rescans the heap per step; cap it

# The tree hangs off this global, so paths from a root read `heap_bench.ROOT.children[2]...`.
ROOT: list[Item] = []


class Item:
    def __init__(self, i: int, parent: Item | None) -> None:
        self.parent = parent
        self.name = f"item-{i}"
        self.label = f"Item number {i}"
        self.children: list[Item] = []
        self.attrs = {"id": i * 1000, "tag": f"t{i}"}
        self.value = float(i)


def build_heap(instances: int) -> Item:
    """Builds the tree under ROOT and returns its deepest, last-made leaf."""
    items = [Item(0, None)]
    for i in range(1, instances):
        parent = items[(i - 1) // 4]
        item = Item(i, parent)
        parent.children.append(item)
        items.append(item)
    ROOT[:] = items[:1]
    return items[-1]


def best_of(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of `runs` timings, and the last result."""
    best, result = float("inf"), None
    for _ in range(runs):
        result = None
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def timed(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def row(
    tool: str, operation: str, seconds: float, objects: int | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "tool": tool,
        "operation": operation,
        "seconds": round(seconds, 4),
        "objects": objects,
        **extra,
    }


def bar(measured: float, limit: float, text: str) -> dict[str, Any]:
    return {"bar": text, "met": measured <= limit, "measured": round(measured, 4)}


def memhound_rows(deep_leaf: Item) -> list[dict[str, Any]]:
    import memhound

    seconds, snap = best_of(3, memhound.snapshot)
    count = snap.object_count
    per_object = snap.memory_bytes() / count
    rows = [
        row(
            "memhound",
            "snapshot",
            seconds,
            count,
            bytes_per_object=round(per_object, 1),
            **bar(seconds, SNAPSHOT_BAR_S, f"snapshot <= {SNAPSHOT_BAR_S} s"),
        ),
        row(
            "memhound",
            "graph memory",
            0.0,
            count,
            bytes_per_object=round(per_object, 1),
            **bar(per_object, BYTES_PER_OBJECT_BAR, f"<= {BYTES_PER_OBJECT_BAR} B/object"),
        ),
    ]
    analysis_s = min(timed(memhound.snapshot().compute) for _ in range(3))
    rows.append(
        row(
            "memhound",
            "dominators + retained sizes",
            analysis_s,
            count,
            bytes_per_object=round(snap.analysis_bytes() / count, 1),
            **bar(analysis_s, ANALYSIS_BAR_S, f"dominators + retained <= {ANALYSIS_BAR_S} s"),
        )
    )
    census_s, _ = best_of(3, lambda: snap.by_type(20))
    rows.append(row("memhound", "census by type (on the snapshot)", census_s, count))
    explain_s, explanation = best_of(3, lambda: memhound.explain(deep_leaf, snap))
    rows.append(
        row(
            "memhound",
            f"explain (on the snapshot, {len(explanation.steps)} steps)",
            explain_s,
            count,
            **bar(explain_s, EXPLAIN_BAR_S, f"explain <= {EXPLAIN_BAR_S * 1000:.0f} ms"),
        )
    )
    fresh_s, _ = best_of(1, lambda: memhound.explain(deep_leaf))
    rows.append(row("memhound", "explain (fresh snapshot included)", fresh_s, count))
    return rows


def reference_rows() -> list[dict[str, Any]]:
    def closure() -> int:
        seen: set[int] = set()
        pending = gc.get_objects()
        own = {id(seen), id(pending)}
        while pending:
            obj = pending.pop()
            if id(obj) not in seen and id(obj) not in own:
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
    return [
        row("Pympler", "muppy.get_objects()", objects_s, count),
        row("Pympler", "summary.summarize()", summary_s, count),
    ]


class TimedOut(Exception):
    pass


def objgraph_rows(target: Item) -> list[dict[str, Any]]:
    import objgraph

    stats_s, _ = best_of(1, objgraph.typestats)
    rows = [row("objgraph", "typestats()", stats_s)]

    def give_up(signum: int, frame: object) -> None:
        raise TimedOut

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(BACKREF_TIMEOUT_S)
    start = time.perf_counter()
    try:
        chain = objgraph.find_backref_chain(target, objgraph.is_proper_module)
        rows.append(
            row(
                "objgraph",
                f"find_backref_chain ({len(chain) - 1} steps)",
                time.perf_counter() - start,
            )
        )
    except TimedOut:
        rows.append(
            row(
                "objgraph",
                f"find_backref_chain (gave up after {BACKREF_TIMEOUT_S} s)",
                time.perf_counter() - start,
            )
        )
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return rows


def run_heap_benchmarks(quick: bool = False) -> list[dict[str, Any]]:
    quick = quick or os.environ.get("MEMHOUND_BENCH_QUICK") == "1"
    deep_leaf = build_heap(QUICK_INSTANCES if quick else INSTANCES)
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
        lines.append(
            f"| {r['tool']} | {r['operation']} | {r['seconds']:.4f} | {r['objects'] or ''} | {per_object} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    results = run_heap_benchmarks(quick="--quick" in sys.argv)
    print(markdown(results))
    print(json.dumps(results, indent=1))
