"""Object summary: memhound.summary() against Pympler's and objgraph's summaries of one heap.

Usage: python _summary.py INSTANCES OUTPUT.json
Runs in its own process. Builds heap_bench's heap (INSTANCES tree items: 200,000 make about
1.6M objects), then times, on that same heap, memhound.summary(),
pympler.summary.summarize(pympler.muppy.get_objects()) and objgraph.show_most_common_types()
(its table printed to a buffer). memhound and objgraph: the median of REPEAT calls; Pympler,
which takes seconds, is timed once. Writes {"instances", "objects", "tools": {name: {"seconds",
"runs", "objects"} | {"error"}}}, where "objects" is how many objects the tool counted.
"""

from __future__ import annotations

import gc
import io
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import heap_bench

REPEAT = 3
CANDIDATE = "memhound.summary()"
PYMPLER = "pympler summarize(muppy.get_objects())"
OBJGRAPH = "objgraph.show_most_common_types()"


def memhound_summary() -> int:
    import memhound

    return memhound.summary().total_count


def pympler_summary() -> int:
    from pympler import muppy, summary

    objects = muppy.get_objects()
    summary.summarize(objects)
    return len(objects)


def objgraph_summary() -> None:
    import objgraph

    objgraph.show_most_common_types(limit=10, file=io.StringIO())
    # it counts what gc.get_objects() lists: counted after the timing


TOOLS: dict[str, tuple[str, Callable[[], int | None], int]] = {
    CANDIDATE: ("memhound", memhound_summary, REPEAT),
    PYMPLER: ("pympler", pympler_summary, 1),
    OBJGRAPH: ("objgraph", objgraph_summary, REPEAT),
}


def time_tool(work: Callable[[], int | None], runs: int) -> dict[str, object]:
    timings: list[float] = []
    objects: int | None = None
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        objects = work()
        timings.append(time.perf_counter() - start)
    if objects is None:
        objects = len(gc.get_objects())
    return {"seconds": statistics.median(timings), "runs": runs, "objects": objects}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: _summary.py INSTANCES OUTPUT.json", file=sys.stderr)
        return 2
    instances, output = int(argv[0]), argv[1]
    heap_bench.build_heap(instances)
    gc.collect()
    tools: dict[str, dict[str, object]] = {}
    for name, (module, work, runs) in TOOLS.items():
        try:
            __import__(module)
        except ImportError:
            tools[name] = {"error": "not installed"}
            continue
        try:
            tools[name] = time_tool(work, runs)
        except Exception as exc:  # noqa: BLE001 - a tool's own failure is a result to report
            tools[name] = {"error": f"failed: {type(exc).__name__}: {exc}"}
    objects = tools.get(CANDIDATE, {}).get("objects")
    result = {"instances": instances, "objects": objects, "tools": tools}
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
