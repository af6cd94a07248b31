"""ClassTracker: a loop that creates and drops instances of one class, plain and tracked.

Usage: python _class_tracker.py ITERATIONS PYMPLER_ITERATIONS OUTPUT.json
Runs in its own process (a fresh heap; a crash cannot take the runner down). Plain rounds and
rounds under memhound.ClassTracker alternate in the same process (ROUNDS of each), so that the
machine's load drifts alike for both; pympler.classtracker runs once, last, on
PYMPLER_ITERATIONS (its per-instance cost is ~60 us, and it keeps a record object per instance).
Writes {"iterations", "rounds", "python", "tools": {name: {"seconds", "runs", "iterations",
"ratios"?} | {"error"}}, "exact": bool} where seconds is the median run and ratios are the
per-round ratios to the plain run of the same round. Times are the loop's thread CPU time.
"""

from __future__ import annotations

import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable

ROUNDS = 5
PLAIN, MEMHOUND, PYMPLER = "plain", "memhound.ClassTracker", "pympler.classtracker"


class Item:
    def __init__(self, index: int) -> None:
        self.index = index
        self.label = "item"


def churn(iterations: int) -> float:
    """Creates and drops `iterations` Item instances; the loop's CPU time in seconds (the thread's
    own: on a loaded machine wall time also counts the time other processes ran)."""
    start = time.thread_time()
    for i in range(iterations):
        Item(i)
    return time.thread_time() - start


def memhound_round(iterations: int) -> tuple[float, bool]:
    import memhound

    with memhound.ClassTracker() as tracker:
        tracker.track_class(Item, name="Item")
        seconds = churn(iterations)
        counts = tracker.stats.counts["Item"]
    return seconds, (counts.created, counts.destroyed) == (iterations, iterations)


def pympler_run(iterations: int) -> dict[str, object]:
    try:
        from pympler.classtracker import ClassTracker
    except ImportError:
        return {"error": "not installed"}
    tracker = ClassTracker()
    tracker.track_class(Item)
    try:
        seconds = churn(iterations)
    finally:
        tracker.detach_all()
    return {"seconds": seconds, "runs": [seconds], "iterations": iterations}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: _class_tracker.py ITERATIONS PYMPLER_ITERATIONS OUTPUT.json", file=sys.stderr)
        return 2
    iterations, pympler_iterations, output = int(argv[0]), int(argv[1]), argv[2]
    churn(min(iterations, 100_000))  # warm-up: code objects, type caches, the allocator's pools
    plain: list[float] = []
    tracked: list[float] = []
    exact = True
    memhound_error: str | None = None
    for _ in range(ROUNDS):
        gc.collect()
        plain.append(churn(iterations))
        gc.collect()
        try:
            seconds, ok = memhound_round(iterations)
        except Exception as exc:  # noqa: BLE001 - the tool's own failure is a result to report
            memhound_error = f"failed: {type(exc).__name__}: {exc}"
            break
        tracked.append(seconds)
        exact = exact and ok
    tools: dict[str, dict[str, object]] = {PLAIN: _timing(plain, iterations)}
    if memhound_error is not None:
        tools[MEMHOUND] = {"error": memhound_error}
    else:
        tools[MEMHOUND] = {
            **_timing(tracked, iterations),
            "ratios": [t / p for t, p in zip(tracked, plain, strict=True)],
        }
    gc.collect()
    tools[PYMPLER] = _guarded(lambda: pympler_run(pympler_iterations))
    result = {
        "iterations": iterations,
        "rounds": ROUNDS,
        "python": platform.python_version(),
        "tools": tools,
        "exact": exact,
    }
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    return 0


def _timing(runs: list[float], iterations: int) -> dict[str, object]:
    return {"seconds": statistics.median(runs), "runs": runs, "iterations": iterations}


def _guarded(run: Callable[[], dict[str, object]]) -> dict[str, object]:
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - the tool's own failure is a result to report
        return {"error": f"failed: {type(exc).__name__}: {exc}"}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
