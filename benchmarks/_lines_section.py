"""The line-profiling section: three workload functions plain, under @memhound.profile and under
memory_profiler's @profile, each run in its own process (benchmarks/_lines_worker.py)."""

from __future__ import annotations

import platform
import statistics
import sys

from _markdown import table
from _proc import run_json
from _section import SectionReport
from _stats import format_ratio, format_seconds
from _tools import BENCH_DIR

TITLE = f"Line by line, CPython {platform.python_version()}"
WORKER = BENCH_DIR / "_lines_worker.py"
MODES = ("plain", "memhound", "memory_profiler")
LABELS = {"memhound": "@memhound.profile", "memory_profiler": "memory_profiler @profile"}
WORKLOADS = {
    "loop_append": "20,000 iterations of a two-line loop that appends a 100-byte bytearray",
    "dict_build": "20,000 iterations of a three-line loop that formats a key and stores it",
    "many_calls": "2,000 calls of a helper (a 50-item list comprehension) from a two-line loop",
}


def measure(rounds: int, timeout_s: float) -> dict:
    """{workload: {mode: {"runs": [s], "seconds": median} | {"error"}}}; rounds alternate modes."""
    results: dict[str, dict[str, dict]] = {w: {m: {"runs": []} for m in MODES} for w in WORKLOADS}
    for _ in range(rounds):
        for workload in WORKLOADS:
            for mode in MODES:
                slot = results[workload][mode]
                if "error" in slot:
                    continue
                run = run_json([sys.executable, str(WORKER), mode, workload], timeout_s)
                if run.error is not None or "error" in run.data:
                    slot["error"] = run.error or run.data["error"]
                    continue
                slot["runs"].append(run.data["seconds"])
    for per_mode in results.values():
        for slot in per_mode.values():
            if "error" not in slot:
                slot["seconds"] = statistics.median(slot["runs"])
    return results


def ratios(results: dict, mode: str) -> list[float]:
    """Per workload, the median over rounds of (time under the tool / plain time, same round)."""
    out = []
    for per_mode in results.values():
        tool, plain = per_mode[mode], per_mode["plain"]
        if "error" in tool or "error" in plain:
            continue
        pairs = zip(tool["runs"], plain["runs"], strict=False)
        out.append(statistics.median(t / p for t, p in pairs))
    return out


def lines_section(rounds: int, timeout_s: float) -> SectionReport:
    results = measure(rounds, timeout_s)
    rows = []
    for workload, per_mode in results.items():
        row = [f"`{workload}`"]
        for mode in MODES:
            slot = per_mode[mode]
            row.append(slot["error"] if "error" in slot else format_seconds(slot["seconds"]))
        for mode in ("memhound", "memory_profiler"):
            one = ratios({workload: per_mode}, mode)
            row.append(format_ratio(one[0]) if one else "-")
        mine, theirs = (
            ratios({workload: per_mode}, "memhound"),
            ratios({workload: per_mode}, "memory_profiler"),
        )
        row.append(f"{theirs[0] / mine[0]:.1f}x" if mine and theirs else "-")
        rows.append(row)
    summary = []
    for mode in ("memhound", "memory_profiler"):
        values = ratios(results, mode)
        if values:
            summary.append(f"{LABELS[mode]}: median {format_ratio(statistics.median(values))}")
    intro = (
        f"One call of each workload function, plain, under `@memhound.profile` and under "
        f"memory_profiler's `@profile` (psutil backend, output to /dev/null), on CPython "
        f"{platform.python_version()}. Each run is a fresh process that calls the function once to "
        f"warm up, then times one call by its thread CPU time; {rounds} rounds alternate the "
        f"three. Ratio = median over the rounds of (time under the tool / plain time in the same "
        f"round). Workloads: "
        + "; ".join(f"`{name}`: {text}" for name, text in WORKLOADS.items())
        + ". Median of the per-workload ratios: "
        + ", ".join(summary)
        + "."
    )
    headers = [
        "workload",
        "plain",
        LABELS["memhound"],
        LABELS["memory_profiler"],
        "memhound vs plain",
        "memory_profiler vs plain",
        "memory_profiler / memhound",
    ]
    return SectionReport(TITLE, intro + "\n\n" + table(headers, rows))
