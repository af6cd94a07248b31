"""The ClassTracker section: a create-and-drop loop plain, under memhound.ClassTracker and under
pympler.classtracker, each run in its own process (benchmarks/_class_tracker.py)."""

from __future__ import annotations

import platform
import statistics
import sys

from _markdown import BarResult, Verdict, table, verdict_of
from _proc import run_json
from _section import SectionReport
from _stats import format_ratio, format_seconds
from _tools import BENCH_DIR

TITLE = "ClassTracker"
WORKER = BENCH_DIR / "_class_tracker.py"
PLAIN, CANDIDATE, BASELINE = "plain", "memhound.ClassTracker", "pympler.classtracker"
MODES = {PLAIN: "plain", CANDIDATE: "memhound", BASELINE: "pympler"}
ROUNDS = 5
RATIO_BAR = 1.2
BAR_TEXT = f"<= {RATIO_BAR:g}x of the plain loop"


def measure(iterations: int, pympler_iterations: int, timeout_s: float) -> dict:
    """ROUNDS rounds of (plain, memhound) processes, then pympler once: {"iterations", "rounds",
    "python", "exact", "tools": {name: {"runs", "seconds", "iterations", "ratios"?} | {"error"}}}."""
    runs: dict[str, list[float]] = {PLAIN: [], CANDIDATE: []}
    errors: dict[str, str] = {}
    exact = True
    for _ in range(ROUNDS):
        for name in (PLAIN, CANDIDATE):
            if name in errors:
                continue
            result = _run(MODES[name], iterations, timeout_s)
            if "error" in result:
                errors[name] = result["error"]
                continue
            runs[name].append(result["seconds"])
            exact = exact and result.get("exact", True)
    tools: dict[str, dict] = {}
    for name in (PLAIN, CANDIDATE):
        if name in errors:
            tools[name] = {"error": errors[name]}
        else:
            tools[name] = {
                "runs": runs[name],
                "seconds": statistics.median(runs[name]),
                "iterations": iterations,
            }
    if "error" not in tools[PLAIN] and "error" not in tools[CANDIDATE]:
        tools[CANDIDATE]["ratios"] = [
            t / p for t, p in zip(runs[CANDIDATE], runs[PLAIN], strict=True)
        ]
    baseline = _run(MODES[BASELINE], pympler_iterations, timeout_s)
    tools[BASELINE] = (
        {"error": baseline["error"]}
        if "error" in baseline
        else {
            "runs": [baseline["seconds"]],
            "seconds": baseline["seconds"],
            "iterations": pympler_iterations,
        }
    )
    return {
        "iterations": iterations,
        "rounds": ROUNDS,
        "python": platform.python_version(),
        "exact": exact,
        "tools": tools,
    }


def _run(mode: str, iterations: int, timeout_s: float) -> dict:
    run = run_json([sys.executable, str(WORKER), mode, str(iterations)], timeout_s)
    if run.error is not None:
        return {"error": run.error}
    return run.data


def class_tracker_section(
    iterations: int, pympler_iterations: int, timeout_s: float
) -> SectionReport:
    data = measure(iterations, pympler_iterations, timeout_s)
    baseline_iterations = data["tools"][BASELINE].get("iterations", pympler_iterations)
    intro = (
        f"A loop that creates and drops {data['iterations']:,} instances of one small class "
        f"(`Item(i)`, two attributes set in `__init__`), on CPython {data['python']}. Each run is "
        f"a fresh process that warms the loop up untracked, starts tracking, then times the loop "
        f"by its thread CPU time (`time.thread_time()`); {data['rounds']} rounds alternate plain "
        f"and `memhound.ClassTracker` runs (median run; ratio = median of the per-round ratios). "
        f"`pympler.classtracker` tracks the same class on the same loop once, over "
        f"{baseline_iterations:,} iterations (about 10-60 us and a record object per instance: a "
        f"million would take minutes and a gigabyte); its ratio compares time per iteration. "
        f"memhound's counts were {'exact' if data['exact'] else 'NOT exact'} in every run."
    )
    return SectionReport(
        TITLE, intro + "\n\n" + class_tracker_table(data), [class_tracker_bar(data)]
    )


def per_iteration(result: dict) -> float | None:
    if "seconds" not in result or not result.get("iterations"):
        return None
    return result["seconds"] / result["iterations"]


def ratio_of(data: dict, name: str) -> float | None:
    """The tool's slowdown against the plain loop: the median of the per-round ratios when
    measured in rounds, else time per iteration against plain's."""
    result = data["tools"].get(name, {})
    if result.get("ratios"):
        return statistics.median(result["ratios"])
    mine, plain = per_iteration(result), per_iteration(data["tools"].get(PLAIN, {}))
    return mine / plain if mine is not None and plain else None


def class_tracker_table(data: dict) -> str:
    rows = []
    for name, result in data["tools"].items():
        if "error" in result:
            rows.append([name, result["error"], "-", "-", "-"])
            continue
        ratio = ratio_of(data, name) if name != PLAIN else 1.0
        rows.append(
            [
                name,
                f"{result['iterations']:,}",
                format_seconds(result["seconds"]),
                f"{per_iteration(result) * 1e9:.0f}",
                format_ratio(ratio) if ratio else "-",
            ]
        )
    return table(["loop", "iterations", "median CPU time", "ns/iteration", "vs plain"], rows)


def class_tracker_bar(data: dict) -> BarResult:
    what = f"ClassTracker ({CANDIDATE}) on a create-and-drop loop"
    for name in (CANDIDATE, PLAIN):
        result = data["tools"].get(name, {"error": "not run"})
        if "error" in result:
            return BarResult(what, BAR_TEXT, f"{name}: {result['error']}", Verdict.NOT_MEASURED)
    ratio = ratio_of(data, CANDIDATE)
    if ratio is None:
        return BarResult(what, BAR_TEXT, "no timing", Verdict.NOT_MEASURED)
    measured = format_ratio(ratio)
    baseline = ratio_of(data, BASELINE)
    if baseline is not None:
        measured += f" (pympler {format_ratio(baseline)})"
    return BarResult(what, BAR_TEXT, measured, verdict_of(ratio, RATIO_BAR))
