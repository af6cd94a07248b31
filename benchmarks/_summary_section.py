"""The object-summary section: memhound.summary() beside Pympler and objgraph, in a subprocess."""

from __future__ import annotations

import sys

from _markdown import BarResult, Verdict, table, verdict_of
from _proc import run_json
from _section import SectionReport
from _stats import format_ratio, format_seconds
from _summary import CANDIDATE
from _tools import BENCH_DIR

TITLE = "Object summary"
WORKER = BENCH_DIR / "_summary.py"
BAR_S = 0.3
BAR_TEXT = f"summary() of a 1.6M-object heap <= {BAR_S:g} s"


def summary_section(instances: int, timeout_s: float) -> SectionReport:
    run = run_json([sys.executable, str(WORKER), str(instances)], timeout_s)
    if run.error is not None:
        return SectionReport(
            TITLE,
            f"The summary benchmark did not run: {run.error}.",
            [BarResult(f"object summary ({CANDIDATE})", BAR_TEXT, run.error, Verdict.NOT_MEASURED)],
        )
    data = run.data
    intro = (
        f"One heap: `heap_bench.py`'s tree of {data['instances']:,} items "
        f"({data['objects'] or 0:,} objects as memhound counts them), built once in a fresh "
        "process; each tool summarizes it by type. Median of the runs shown; Pympler's "
        "`muppy.get_objects()` runs `gc.collect()` first, inside its timing; objgraph counts "
        "only the objects the collector tracks."
    )
    return SectionReport(TITLE, intro + "\n\n" + summary_table(data), [summary_bar(data)])


def summary_table(data: dict) -> str:
    candidate = data["tools"].get(CANDIDATE, {})
    rows = [_row(name, result, candidate) for name, result in data["tools"].items()]
    return table(["tool", "median time", "runs", "objects counted", "memhound's speed-up"], rows)


def _row(name: str, result: dict, candidate: dict) -> list[str]:
    if "error" in result:
        return [name, result["error"], "-", "-", "-"]
    speedup = "-"
    if candidate.get("seconds") and name != CANDIDATE:
        speedup = format_ratio(result["seconds"] / candidate["seconds"])
    return [
        name,
        format_seconds(result["seconds"]),
        str(result["runs"]),
        f"{result['objects']:,}",
        speedup,
    ]


def summary_bar(data: dict) -> BarResult:
    what = f"object summary ({CANDIDATE})"
    result = data["tools"].get(CANDIDATE, {"error": "not run"})
    if "error" in result:
        return BarResult(what, BAR_TEXT, result["error"], Verdict.NOT_MEASURED)
    objects = f" on {result['objects']:,} objects" if result.get("objects") else ""
    return BarResult(
        what,
        BAR_TEXT,
        format_seconds(result["seconds"]) + objects,
        verdict_of(result["seconds"], BAR_S),
    )
