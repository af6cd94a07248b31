"""Runs heap_bench.run_heap_benchmarks() in a fresh process and writes its rows as JSON.

Usage: python _heap_driver.py [--quick] OUTPUT.json
heap_bench.py belongs to the heap snapshot's owner; this driver only calls it. With --quick, it
passes quick=True when run_heap_benchmarks accepts a `quick` parameter, and sets
MEMHOUND_BENCH_QUICK=1 in the environment either way.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path

QUICK_ENV = "MEMHOUND_BENCH_QUICK"


def call_heap_benchmarks(quick: bool) -> list[dict]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import heap_bench

    run = heap_bench.run_heap_benchmarks
    if quick:
        os.environ[QUICK_ENV] = "1"
        if "quick" in inspect.signature(run).parameters:
            return list(run(quick=True))
    return list(run())


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    rest = [arg for arg in argv if arg != "--quick"]
    if len(rest) != 1:
        print("usage: _heap_driver.py [--quick] OUTPUT.json", file=sys.stderr)
        return 2
    rows = call_heap_benchmarks(quick)
    with open(rest[0], "w", encoding="utf-8") as handle:
        json.dump(rows, handle, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
