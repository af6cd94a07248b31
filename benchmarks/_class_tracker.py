"""ClassTracker: a loop that creates and drops instances of one class, plain or tracked.

Usage: python _class_tracker.py MODE ITERATIONS OUTPUT.json, MODE one of plain, memhound, pympler.
Each run is its own process (a fresh heap and fresh specialized code: on 3.13 a call site that
met a tracked class stays unspecialized for a while after detach, which would slow a plain loop
run after it in the same process). It warms the loop up untracked, starts tracking (memhound,
pympler), then times one loop by the thread's CPU time (on a loaded machine wall time also counts
the time other processes ran). Writes {"mode", "python", "iterations", "seconds", "exact"} or
{"mode", "error"}; exact: memhound saw every instance created and destroyed.
"""

from __future__ import annotations

import json
import platform
import sys
import time

MODES = ("plain", "memhound", "pympler")
WARM_UP = 100_000


class Item:
    def __init__(self, index: int) -> None:
        self.index = index
        self.label = "item"


def churn(iterations: int) -> float:
    """Creates and drops `iterations` Item instances; the loop's thread CPU time in seconds."""
    start = time.thread_time()
    for i in range(iterations):
        Item(i)
    return time.thread_time() - start


def run(mode: str, iterations: int) -> dict[str, object]:
    churn(WARM_UP)  # code objects, specialized call sites, the allocator's pools
    if mode == "plain":
        return {"seconds": churn(iterations)}
    if mode == "memhound":
        import memhound

        with memhound.ClassTracker() as tracker:
            tracker.track_class(Item, name="Item")
            seconds = churn(iterations)
            counts = tracker.stats.counts["Item"]
        return {"seconds": seconds, "exact": counts.created == counts.destroyed == iterations}
    try:
        from pympler.classtracker import ClassTracker
    except ImportError:
        return {"error": "not installed"}
    tracker = ClassTracker()
    tracker.track_class(Item)
    try:
        return {"seconds": churn(iterations)}
    finally:
        tracker.detach_all()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in MODES:
        print(f"usage: _class_tracker.py {'|'.join(MODES)} ITERATIONS OUTPUT.json", file=sys.stderr)
        return 2
    mode, iterations, output = argv[0], int(argv[1]), argv[2]
    try:
        result = run(mode, iterations)
    except Exception as exc:  # noqa: BLE001 - the tool's own failure is a result to report
        result = {"error": f"failed: {type(exc).__name__}: {exc}"}
    result = {"mode": mode, "python": platform.python_version(), "iterations": iterations, **result}
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
