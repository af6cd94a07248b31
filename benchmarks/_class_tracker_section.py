"""The ClassTracker section: a create-and-drop loop plain, under memhound.ClassTracker and under
pympler.classtracker, in a subprocess (benchmarks/_class_tracker.py)."""

from __future__ import annotations

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
RATIO_BAR = 1.2
BAR_TEXT = f"<= {RATIO_BAR:g}x of the plain loop"


def class_tracker_section(
    iterations: int, pympler_iterations: int, timeout_s: float
) -> SectionReport:
    run = run_json(
        [sys.executable, str(WORKER), str(iterations), str(pympler_iterations)], timeout_s
    )
    if run.error is not None:
        return SectionReport(
            TITLE,
            f"The ClassTracker benchmark did not run: {run.error}.",
            [BarResult(f"ClassTracker ({CANDIDATE})", BAR_TEXT, run.error, Verdict.NOT_MEASURED)],
        )
    data = run.data
    intro = (
        f"A loop that creates and drops {data['iterations']:,} instances of one small class "
        f"(`Item(i)`, two attributes set in `__init__`), on CPython {data['python']}. Plain rounds "
        f"and rounds with `memhound.ClassTracker` tracking the class alternate in one fresh "
        f"process ({data['rounds']} of each; the loop's thread CPU time, `time.thread_time()`; median "
        f"run; ratio = median of the per-round ratios). "
        f"`pympler.classtracker` tracks the same class on the same loop once, over "
        f"{data['tools'].get(BASELINE, {}).get('iterations', 0):,} iterations (about 60 us and a "
        f"record object per instance: a million would take a minute and a gigabyte); its ratio "
        f"compares time per iteration. memhound's counts were "
        f"{'exact' if data.get('exact') else 'NOT exact'} (every instance created and destroyed)."
    )
    return SectionReport(
        TITLE, intro + "\n\n" + class_tracker_table(data), [class_tracker_bar(data)]
    )


def per_iteration(result: dict) -> float | None:
    if "seconds" not in result or not result.get("iterations"):
        return None
    return result["seconds"] / result["iterations"]


def ratio_of(data: dict, name: str) -> float | None:
    """The tool's slowdown against the plain loop: the median of the per-round ratios when the
    worker measured them, else time per iteration against plain's."""
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
    return table(["loop", "iterations", "median time", "ns/iteration", "vs plain"], rows)


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
