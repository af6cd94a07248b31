"""The HTML report of a leak check: the leaks' allocation stacks as a flame graph (width: bytes
added per iteration), a table of the leaks with their kinds, and each one's retention path."""

from __future__ import annotations

from typing import Any

from memhound._leaks._model import Frame, Leak, LeakReport
from memhound.report._format import format_bytes
from memhound.report._rows import FrameRow
from memhound.report.html._data import StackTable, pruned_view
from memhound.report.html._page import page


def render_leaks_html(report: LeakReport) -> str:
    """The whole HTML document of a leak check's report (memhound.check_leaks, memhound leaks)."""
    return page(leaks_document(report), table_title="Leaks")


def leaks_document(report: LeakReport) -> dict[str, Any]:
    table = StackTable()
    leaks = [_leak(number, leak, table) for number, leak in enumerate(report.leaks, start=1)]
    entries = [(leak["stack"], leak["bytes"], leak["count"]) for leak in leaks]
    total_bytes = sum(leak["bytes"] for leak in leaks)
    total_count = sum(leak["count"] for leak in leaks)
    main = {
        "name": "leaks",
        "site_count": len(leaks),
        **pruned_view(entries, total_bytes, total_count),
    }
    return {
        "kind": "leaks",
        "view": "leaks",
        "view_title": "growth per iteration",
        "title": f"memhound leaks {report.target}",
        "summary": _summary(report, total_bytes),
        **table.document(),
        "main": main,
        "leaks": leaks,
        "timeline": None,
        "live": [],
    }


def _frames(frames: list[Frame]) -> list[FrameRow]:
    return [FrameRow(file=f.file, function=f.function, line=f.line) for f in frames]


def _leak(number: int, leak: Leak, table: StackTable) -> dict[str, Any]:
    allocator = "malloc" if "native" in leak.kinds and not leak.allocated_at else "pymem"
    where = leak.allocated_at[0] if leak.allocated_at else None
    return {
        "number": number,
        "kinds": list(leak.kinds),
        "type": leak.type,
        "count": leak.count_per_iteration,
        "bytes": leak.bytes_per_iteration,
        "stack": table.stack(_frames(leak.allocated_at), allocator),
        "where": f"{where.function} {where.file}:{where.line}" if where else "(native code)",
        "retained_by": leak.retained_by,
        "path": [[edge.edge, edge.type] for edge in leak.path],
        "resource": leak.resource,
        "held_by": leak.held_by.describe() if leak.held_by else None,
    }


def _summary(report: LeakReport, total_bytes: float) -> list[list[str]]:
    verdict = f"{len(report.leaks)} leak(s)" if report.leaks else "no leaks found"
    seconds = f"{report.duration_s:.2f} s"
    facts = [
        ["verdict", f"{verdict}, +{format_bytes(total_bytes)} per iteration in all"],
        ["run", f"{report.iterations} iterations after {report.warmup} warm-up, {seconds}"],
    ]
    if report.extension:
        facts.append(["extended", report.extension.describe()])
    if report.bounded:
        facts.append(
            ["caches filling", f"{len(report.bounded)} site(s) in bounded caches (not leaks)"]
        )
    if report.cyclic_garbage:
        objects = sum(entry.objects_per_iteration for entry in report.cyclic_garbage)
        facts.append(
            ["cyclic garbage", f"{objects:g} objects per iteration reclaimed by the collector"]
        )
    grown = report.resources.grown()
    if grown:
        changes = ", ".join(
            f"{name} {report.resources.before.get(name, 0)} -> {report.resources.after[name]}"
            for name in grown
        )
        facts.append(["open resources grew", changes])
    return facts
