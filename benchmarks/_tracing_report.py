"""Renders the tracing-overhead results as markdown tables and bar verdicts."""

from __future__ import annotations

from _markdown import BarResult, Verdict, table, verdict_of
from _stats import format_bytes, format_ratio, format_seconds
from _tracing import BASELINE, Metric, TracingResults

FULL_TOOL = "memhound-full"
SAMPLED_TOOL = "memhound-sampled"
FULL_BAR = 1.5
SAMPLED_BAR = 1.05
NATIVE_TOOL = "memhound-native"
NATIVE_BAR = 2.0  # issue 12: --native full tracing, geomean over every workload
BYTES_PER_EVENT_BAR = 2.0


def _short_status(failure: str) -> str:
    """'not installed', 'failed', 'timed out', ...: the part before the details."""
    return failure.split(":", 1)[0].split(" (", 1)[0]


def _time_cell(results: TracingResults, workload: str, tool: str) -> str:
    cell = results.cell(workload, tool)
    if cell.failure is not None:
        return _short_status(cell.failure)
    seconds = results.median_seconds(workload, tool)
    ratio = results.ratio(workload, tool)
    spread = results.spread(workload, tool)
    if seconds is None or ratio is None:
        return "no run"
    details = format_ratio(ratio) + (f", ±{spread:.0%}" if spread is not None else "")
    return f"{format_seconds(seconds)} ({details})"


def _geomean_cell(results: TracingResults, tool: str, metric: Metric = "wall") -> str:
    value, missing = results.geomean_ratio(tool, metric)
    if value is None:
        return "n/a"
    text = f"**{format_ratio(value)}**"
    if missing:
        text += f" ({len(results.workloads) - len(missing)}/{len(results.workloads)} workloads)"
    return text


def overhead_table(results: TracingResults) -> str:
    names = [tool.name for tool in results.tools]
    rows = [[w, *(_time_cell(results, w, t) for t in names)] for w in results.workloads]
    rows.append(["**geomean ratio**", *(_geomean_cell(results, t) for t in names)])
    return table(["workload", *names], rows)


def cpu_table(results: TracingResults) -> str:
    """Ratios of CPU time (user + system, all threads) to plain python's, per workload."""
    names = [tool.name for tool in results.tools]
    rows = [[w, *(_cpu_cell(results, w, t) for t in names)] for w in results.workloads]
    rows.append(["**geomean ratio**", *(_geomean_cell(results, t, "cpu") for t in names)])
    return table(["workload", *names], rows)


def _cpu_cell(results: TracingResults, workload: str, tool: str) -> str:
    cell = results.cell(workload, tool)
    if cell.failure is not None:
        return _short_status(cell.failure)
    ratio = results.ratio(workload, tool, "cpu")
    return format_ratio(ratio) if ratio is not None else "no run"


def failure_notes(results: TracingResults) -> list[str]:
    """One line per (tool, reason), naming the workloads it affected."""
    affected: dict[tuple[str, str], list[str]] = {}
    for (workload, tool), cell in results.cells.items():
        for reason in (cell.failure, cell.count_failure):
            if reason is not None:
                affected.setdefault((tool, reason), []).append(workload)
    return [
        f"{tool}: {reason} ({', '.join(workloads)})"
        for (tool, reason), workloads in sorted(affected.items())
    ]


def capture_table(results: TracingResults) -> str:
    rows = []
    for tool in results.tools:
        if tool.capture_format is None:
            continue
        if tool.unavailable is not None:  # one row, not one per workload
            rows.append(["(all)", tool.name, _short_status(tool.unavailable), "-", "-"])
            continue
        for workload in results.workloads:
            rows.append([workload, tool.name, *_capture_cells(results, workload, tool.name)])
    return table(["workload", "tool", "events (alloc+free)", "capture size", "bytes/event"], rows)


def _capture_cells(results: TracingResults, workload: str, tool: str) -> list[str]:
    cell = results.cell(workload, tool)
    if cell.failure is not None:
        return [_short_status(cell.failure), "-", "-"]
    size = format_bytes(cell.capture_bytes) if cell.capture_bytes is not None else "no file"
    events = f"{cell.events:,}" if cell.events is not None else "not counted"
    per_event = results.bytes_per_event(workload, tool)
    return [events, size, f"{per_event:.2f}" if per_event is not None else "-"]


def tracing_bars(results: TracingResults) -> list[BarResult]:
    return [
        _ratio_bar(results, FULL_TOOL, "full tracing", FULL_BAR),
        _ratio_bar(results, SAMPLED_TOOL, "sampled tracing", SAMPLED_BAR),
        _ratio_bar(results, NATIVE_TOOL, "native tracing", NATIVE_BAR),
        _capture_bar(results),
    ]


def _tool_names(results: TracingResults) -> set[str]:
    return {tool.name for tool in results.tools}


def _ratio_bar(results: TracingResults, tool: str, what: str, bar: float) -> BarResult:
    label = f"{what} ({tool}), geomean over {len(results.workloads)} workloads"
    bar_text = f"<= {bar}x of plain"
    if tool not in _tool_names(results) or BASELINE not in _tool_names(results):
        return BarResult(label, bar_text, "not run (tool not selected)", Verdict.NOT_MEASURED)
    value, missing = results.geomean_ratio(tool)
    if missing:
        return BarResult(
            label, bar_text, _missing_text(results, tool, missing), Verdict.NOT_MEASURED
        )
    assert value is not None
    cpu, _ = results.geomean_ratio(tool, "cpu")
    measured = format_ratio(value) + (f" (CPU time: {format_ratio(cpu)})" if cpu else "")
    return BarResult(label, bar_text, measured, verdict_of(value, bar))


def _missing_text(results: TracingResults, tool: str, missing: list[str]) -> str:
    """'no figure for a, b: <why>', the reasons shortened and deduplicated."""
    reasons = set()
    for workload in missing:
        cell = results.cell(workload, tool)
        reason = cell.failure or cell.count_failure
        reasons.add(_short_status(reason) if reason else "no baseline or no capture file")
    return f"no figure for {', '.join(missing)}: {'; '.join(sorted(reasons))}"


def _capture_bar(results: TracingResults) -> BarResult:
    label = f"capture size ({FULL_TOOL}), every workload"
    bar_text = f"<= {BYTES_PER_EVENT_BAR:g} bytes per alloc+free event"
    if FULL_TOOL not in _tool_names(results):
        return BarResult(label, bar_text, "not run (tool not selected)", Verdict.NOT_MEASURED)
    per_workload = {w: results.bytes_per_event(w, FULL_TOOL) for w in results.workloads}
    missing = [w for w, value in per_workload.items() if value is None]
    if missing:
        text = _missing_text(results, FULL_TOOL, missing)
        return BarResult(label, bar_text, text, Verdict.NOT_MEASURED)
    worst_workload = max(per_workload, key=lambda w: per_workload[w] or 0.0)
    worst = per_workload[worst_workload] or 0.0
    total_bytes = sum(results.cell(w, FULL_TOOL).capture_bytes or 0 for w in results.workloads)
    total_events = sum(results.cell(w, FULL_TOOL).events or 0 for w in results.workloads)
    measured = (
        f"worst {worst:.2f} B/event ({worst_workload}); "
        f"overall {total_bytes / total_events:.2f} B/event"
    )
    return BarResult(label, bar_text, measured, verdict_of(worst, BYTES_PER_EVENT_BAR))
