"""Line profiling: one workload function run plain, under @memhound.profile or under
memory_profiler's @profile, in its own process.

Usage: python _lines_worker.py MODE WORKLOAD OUTPUT.json, MODE one of plain, memhound,
memory_profiler. Times one call of the (decorated) function by the thread's CPU time after one
warm-up call; writes {"seconds", "net"?} or {"error"}. net: what memhound's table says the
function kept, a check that it measured.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

MODES = ("plain", "memhound", "memory_profiler")


def loop_append() -> list[bytearray]:
    kept = []
    for _ in range(20_000):
        kept.append(bytearray(100))
    return kept


def dict_build() -> dict[str, int]:
    table = {}
    for i in range(20_000):
        key = f"key-{i}"
        table[key] = i
    return table


def _helper(n: int) -> list[int]:
    return [i * 2 for i in range(n)]


def many_calls() -> int:
    total = 0
    for i in range(2_000):
        total += len(_helper(50))
    return total


WORKLOADS: dict[str, Callable[[], object]] = {
    "loop_append": loop_append,
    "dict_build": dict_build,
    "many_calls": many_calls,
}


def decorate(mode: str, function: Callable[[], object]) -> Callable[[], object]:
    if mode == "memhound":
        import memhound

        return memhound.profile(function, at_exit=False)
    if mode == "memory_profiler":
        from memory_profiler import profile

        return profile(function, stream=open(os.devnull, "w"))
    return function


def run(mode: str, workload: str) -> dict[str, object]:
    function = decorate(mode, WORKLOADS[workload])
    function()  # warm-up: imports, code specialization, the allocator's pools
    start = time.thread_time()
    function()
    seconds = time.thread_time() - start
    result: dict[str, object] = {"seconds": seconds}
    if mode == "memhound":
        report = function.line_report()  # type: ignore[attr-defined]
        result["net"] = report["allocated"] - report["freed"]
    return result


def main(argv: list[str]) -> int:
    mode, workload, output = argv
    try:
        result = run(mode, workload)
    except ImportError as exc:
        result = {"error": f"not installed: {exc.name}"}
    with open(output, "w", encoding="utf-8") as file:
        json.dump(result, file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
