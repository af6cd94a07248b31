"""The HTML report of one capture view: flame graph, sites by line, timeline with live points."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memhound.report._format import format_bytes, format_count
from memhound.report._rows import memory_info
from memhound.report.html._data import (
    StackTable,
    capture_view,
    live_points,
    peak_time,
    program_name,
    timeline_points,
)
from memhound.report.html._page import page

VIEW_TITLES = {
    "peak": "memory live at the peak",
    "leaks": "memory live at the end (leaks)",
    "temporary": "temporary allocations",
}


def render_capture_html(
    capture: Any,
    view: str = "peak",
    *,
    path: str | None = None,
    file_label: Callable[[str], str] | None = None,
) -> str:
    """The whole HTML document of `view` ('peak', 'leaks' or 'temporary') of a read capture
    (memhound.read_capture); `path` names the file in the page's header, and `file_label`, when
    given, how the page names each frame's file."""
    if view not in VIEW_TITLES:
        raise ValueError(f"unknown view {view!r} (expected peak, leaks or temporary)")
    return page(capture_document(capture, view, path, file_label), table_title="Sites by line")


def capture_document(
    capture: Any, view: str, path: str | None, file_label: Callable[[str], str] | None = None
) -> dict[str, Any]:
    table = StackTable(file_label=file_label)
    main = capture_view(capture, view, table)
    timeline = capture.timeline()
    stats = capture.stats()
    live = live_points(capture, timeline, table)
    program = program_name(capture.header)
    return {
        "kind": "capture",
        "view": view,
        "view_title": VIEW_TITLES[view],
        "title": f"memhound: {VIEW_TITLES[view]} of {program}",
        "summary": _summary(capture, stats, main, path),
        **table.document(),
        "main": main,
        "timeline": _timeline(timeline, stats) if timeline else None,
        "live": live,
    }


def _timeline(timeline: list[dict[str, Any]], stats: dict[str, Any]) -> dict[str, Any]:
    return {
        "points": timeline_points(timeline),
        "peak_time": peak_time(timeline, stats["peak_seq"]),
        "peak_bytes": stats["peak_bytes"],
    }


def _summary(
    capture: Any, stats: dict[str, Any], main: dict[str, Any], path: str | None
) -> list[list[str]]:
    header = capture.header
    facts = []
    if path:
        facts.append(["capture", path + ("" if capture.complete else " (cut short)")])
    run = f"pid {header['pid']}, Python {header['python_version']}, {header['mode']} mode"
    facts.append(["program", f"{program_name(header)} ({run})"])
    duration = stats.get("duration_s")
    over = f" over {duration:.2f} s" if duration else ""
    facts.append(["events", format_count(capture.event_count) + over])
    if capture.window is not None:
        start, end = capture.window
        before = f" before {end:,}" if end else ""
        facts.append(["window", f"events from {start:,}{before}"])
    amount = f"{format_bytes(main['total_bytes'])} in {format_count(main['total_count'])}"
    facts.append(["this view", f"{amount} allocations at {main['site_count']:,} stacks"])
    memory = memory_info(capture)
    if memory is not None:
        traced, rss = memory["traced_peak_bytes"], memory["peak_rss_bytes"]
        facts.append(
            ["memory", f"traced peak {format_bytes(traced)} of {format_bytes(rss)} peak RSS"]
        )
    return facts
