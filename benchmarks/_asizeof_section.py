"""The asizeof section: memhound.asizeof vs pympler.asizeof on one object graph, in a subprocess."""

from __future__ import annotations

import sys

from _markdown import BarResult, Verdict, table, verdict_of
from _proc import run_json
from _section import SectionReport
from _stats import format_bytes, format_ratio, format_seconds
from _tools import BENCH_DIR

TITLE = "asizeof"
WORKER = BENCH_DIR / "_asizeof.py"
BASELINE = "pympler.asizeof"
CANDIDATE = "memhound.asizeof"
SPEEDUP_BAR = 30.0
SIZE_TOLERANCE = 0.05
BAR_TEXT = f">= {SPEEDUP_BAR:g}x faster than {BASELINE}, total within {SIZE_TOLERANCE:.0%} of its"


def asizeof_section(nodes: int, timeout_s: float) -> SectionReport:
    run = run_json([sys.executable, str(WORKER), str(nodes)], timeout_s)
    if run.error is not None:
        return SectionReport(
            TITLE,
            f"The asizeof benchmark did not run: {run.error}.",
            [BarResult(f"asizeof ({CANDIDATE})", BAR_TEXT, run.error, Verdict.NOT_MEASURED)],
        )
    data = run.data
    intro = (
        f"One object graph: a tree of {data['nodes']:,} small `Item` objects, each with its "
        f"dict, lists and strings ({data['objects']:,} distinct objects reachable through "
        f"`gc.get_referents`, classes and modules excluded). Each sizer is called "
        f"{data['repeat']} times in one fresh process; the median call is reported. Pympler "
        "runs first: it reads each instance's `__dict__`, which makes CPython create the dict, "
        "so both sizers then measure the same objects (memhound itself creates none)."
    )
    body = intro + "\n\n" + asizeof_table(data)
    return SectionReport(TITLE, body, [asizeof_bar(data)])


def asizeof_table(data: dict) -> str:
    baseline = data["tools"].get(BASELINE, {})
    rows = [
        _sizer_row(name, result, baseline, data["objects"])
        for name, result in data["tools"].items()
    ]
    header = [
        "sizer",
        "median time",
        "us/object",
        "size reported",
        "size vs pympler",
        "speed-up vs pympler",
    ]
    return table(header, rows)


def _sizer_row(name: str, result: dict, baseline: dict, objects: int) -> list[str]:
    if "error" in result:
        return [name, result["error"], "-", "-", "-", "-"]
    speedup = _speedup(baseline, result)
    same_size = result["bytes"] / baseline["bytes"] if baseline.get("bytes") else None
    return [
        name,
        format_seconds(result["seconds"]),
        f"{result['seconds'] / objects * 1e6:.2f}",
        format_bytes(result["bytes"]),
        f"{same_size:.1%}" if same_size is not None else "-",
        format_ratio(speedup) if speedup else "-",
    ]


def _speedup(baseline: dict, result: dict) -> float | None:
    if "seconds" not in baseline or not result.get("seconds"):
        return None
    return baseline["seconds"] / result["seconds"]


def asizeof_bar(data: dict) -> BarResult:
    what = f"asizeof ({CANDIDATE}) on {data['objects']:,} objects"
    candidate = data["tools"].get(CANDIDATE, {"error": "not run"})
    baseline = data["tools"].get(BASELINE, {"error": "not run"})
    for name, result in ((CANDIDATE, candidate), (BASELINE, baseline)):
        if "error" in result:
            return BarResult(what, BAR_TEXT, f"{name}: {result['error']}", Verdict.NOT_MEASURED)
    speedup = _speedup(baseline, candidate)
    if speedup is None or not baseline.get("bytes"):
        return BarResult(what, BAR_TEXT, "no timing", Verdict.NOT_MEASURED)
    size_ratio = candidate["bytes"] / baseline["bytes"]
    verdict = verdict_of(speedup, SPEEDUP_BAR, lower_is_better=False)
    if abs(size_ratio - 1) > SIZE_TOLERANCE:
        verdict = Verdict.NOT_MET
    return BarResult(
        what, BAR_TEXT, f"{format_ratio(speedup)} faster, total {size_ratio:.1%} of its", verdict
    )
