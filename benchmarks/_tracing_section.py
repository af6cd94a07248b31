"""The tracing sections (overhead and capture size) built from one interleaved measurement."""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

from _markdown import BarResult
from _section import SectionReport
from _tools import SAMPLE_BYTES, Tool
from _tracing import LIGHT_PASSES, WORKLOAD_DIR, Progress, TracingResults, measure_tracing
from _tracing_report import (
    capture_table,
    cpu_table,
    failure_notes,
    overhead_table,
    tracing_bars,
)

OVERHEAD_TITLE = "Tracing overhead"
CAPTURE_TITLE = "Capture size"


def workload_summary(name: str) -> str:
    """The first docstring line of a workload script, without its 'Workload: ' prefix."""
    source = (WORKLOAD_DIR / f"{name}.py").read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(source)) or ""
    first = doc.splitlines()[0] if doc else "(no description)"
    return first.removeprefix("Workload: ")


def tracing_sections(
    workloads: list[str],
    tools: list[Tool],
    repeat: int,
    scale: float,
    timeout_s: float,
    progress: Progress,
) -> tuple[SectionReport, SectionReport]:
    with tempfile.TemporaryDirectory(prefix="memhound-bench-") as tmp:
        results = measure_tracing(workloads, tools, repeat, scale, Path(tmp), timeout_s, progress)
    bars = tracing_bars(results)
    return _overhead_section(results, bars[:3]), _capture_section(results, bars[3:])


def _overhead_section(results: TracingResults, bars: list[BarResult]) -> SectionReport:
    intro = (
        f"Median wall time of the whole process over {results.repeat} interleaved "
        f"round(s) (plain python and the light tools run {1 + LIGHT_PASSES} times a round, in "
        f"{1 + LIGHT_PASSES} passes), and "
        "the median ratio to the plain run of the same pass "
        f"(workload scale {results.scale:g}). "
        "± is half the range of the runs relative to the median (machine noise). "
        "The geomean row averages the per-workload ratios."
    )
    notes = failure_notes(results)
    cpu_intro = (
        "CPU time (user + system of the process, all its threads, from the children's "
        "rusage) as a ratio to plain python's: less sensitive than wall time to other load "
        "on the machine; the bars are judged on wall time."
    )
    body = "\n\n".join([intro, overhead_table(results), cpu_intro, cpu_table(results)])
    if notes:
        body += "\n\nNot measured:\n" + "\n".join(f"- {note}" for note in notes)
    return SectionReport(OVERHEAD_TITLE, body, bars)


def _capture_section(results: TracingResults, bars: list[BarResult]) -> SectionReport:
    intro = (
        "Capture file of the last round divided by its number of events, counted by each "
        "tool's own reader: memhound = allocation + free events "
        "(`memhound._core.read_capture(path).event_count`, file zstd-compressed by "
        "memhound); memray = allocation records, frees included "
        "(`memray.FileReader(path).metadata.total_allocations`, file lz4-compressed by "
        f"memray's default compress-on-exit). memhound-sampled records one sample per "
        f"{SAMPLE_BYTES:,} bytes on average, so its count is of samples."
    )
    return SectionReport(CAPTURE_TITLE, intro + "\n\n" + capture_table(results), bars)
