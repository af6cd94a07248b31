"""The HTML report of a leak check: the leaks' allocation stacks as a flame graph (width: bytes
added per iteration), a table of the leaks with their kinds, and each one's retention path.

It reads the report's JSON form (docs/leaks-json.md), so that a LeakReport and the JSON a test
id's check wrote render the same.
"""

from __future__ import annotations

from typing import Any

from memhound._leaks._model import LeakReport
from memhound.report._format import format_bytes
from memhound.report._rows import FrameRow
from memhound.report.html._data import StackTable, pruned_view
from memhound.report.html._page import page


def render_leaks_html(report: LeakReport | dict[str, Any]) -> str:
    """The whole HTML document of a leak check (memhound.check_leaks, `memhound leaks`): a
    LeakReport or its to_json() document."""
    document = report.to_json() if isinstance(report, LeakReport) else report
    return page(leaks_document(document), table_title="Leaks")


def leaks_document(report: dict[str, Any]) -> dict[str, Any]:
    table = StackTable()
    leaks = [_leak(number, leak, table) for number, leak in enumerate(report["leaks"], start=1)]
    entries = [(leak["stack"], leak["bytes"], leak["count"]) for leak in leaks]
    total_bytes = sum(leak["bytes"] for leak in leaks)
    total_count = sum(leak["count"] for leak in leaks)
    main = pruned_view(entries, total_bytes, total_count)
    return {
        "kind": "leaks",
        "view": "leaks",
        "view_title": "growth per iteration",
        "title": f"memhound leaks {report['target']}",
        "summary": _summary(report, total_bytes),
        **table.document(),
        "main": {"name": "leaks", "site_count": len(leaks), **main},
        "leaks": leaks,
        "timeline": None,
        "live": [],
    }


def _leak(number: int, leak: dict[str, Any], table: StackTable) -> dict[str, Any]:
    frames = [
        FrameRow(file=f["file"], function=f["function"], line=f["line"])
        for f in leak["allocated_at"]
    ]
    allocator = "malloc" if "native" in leak["kinds"] and not frames else "pymem"
    where = f"{frames[0]['function']} {frames[0]['file']}:{frames[0]['line']}" if frames else ""
    holder = leak.get("held_by")
    if holder and leak.get("holder_module"):
        holder = f"{holder} ({leak['holder_module']})"
    return {
        "number": number,
        "kinds": list(leak["kinds"]),
        "type": leak["type"],
        "count": leak["count_per_iteration"],
        "bytes": leak["bytes_per_iteration"],
        "stack": table.stack(frames, allocator),
        "where": where or "(native code)",
        "retained_by": leak.get("retained_by"),
        "path": [[edge["edge"], edge["type"]] for edge in leak.get("path", [])],
        "resource": leak.get("resource"),
        "held_by": holder,
    }


def _summary(report: dict[str, Any], total_bytes: float) -> list[list[str]]:
    leaks = report["leaks"]
    verdict = f"{len(leaks)} leak(s)" if leaks else "no leaks found"
    seconds = f"{report['duration_s']:.2f} s"
    facts = [
        ["verdict", f"{verdict}, +{format_bytes(total_bytes)} per iteration in all"],
        ["run", f"{report['iterations']} iterations after {report['warmup']} warm-up, {seconds}"],
    ]
    extended = report.get("extended")
    if extended:
        rounds = ", ".join(str(n) for n in extended["rounds"])
        facts.append(["extended", f"rounds of {rounds} iterations: {extended['reason']}"])
    if report.get("bounded_caches"):
        caches = "; ".join(entry["container"] for entry in report["bounded_caches"])
        facts.append(["caches filling", f"{caches} (bounded: not leaks)"])
    garbage = report.get("cyclic_garbage") or []
    if garbage:
        objects = sum(entry["objects_per_iteration"] for entry in garbage)
        facts.append(["cyclic garbage", f"{objects:g} objects per iteration, reclaimed"])
    resources = report.get("resources") or {}
    before, after = resources.get("before", {}), resources.get("after", {})
    grown = [name for name in sorted(after) if after[name] > before.get(name, 0)]
    if grown:
        changes = ", ".join(f"{name} {before.get(name, 0)} -> {after[name]}" for name in grown)
        facts.append(["open resources grew", changes])
    return facts
