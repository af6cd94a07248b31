"""The terminal report of a leak check, rendered from a LeakReport (plain data, no tracing)."""

from __future__ import annotations

import linecache

from memhound._leaks._model import CyclicGarbage, Frame, Leak, LeakReport

# How many frames of an allocation stack the terminal report shows (the JSON has them all).
SHOWN_FRAMES = 4


def human_bytes(size: float) -> str:
    """1536 -> '1.5 KiB'; sizes below 1 KiB stay in bytes."""
    value = float(size)
    if abs(value) < 1024:
        return f"{value:.0f} B"
    for unit in ("KiB", "MiB"):
        value /= 1024
        if abs(value) < 1024:
            return f"{value:.1f} {unit}"
    return f"{value / 1024:.1f} GiB"


def render_text(report: LeakReport) -> str:
    lines = [_headline(report)]
    for number, leak in enumerate(report.leaks, start=1):
        lines += ["", *_render_leak(number, leak)]
    if report.cyclic_garbage:
        total = report.collected_per_iteration
        count = f"{total:.0f} objects per iteration, " if total is not None else ""
        lines += ["", f"cyclic garbage reclaimed by the collector ({count}a cost, not a leak):"]
        lines += [_render_garbage(entry) for entry in report.cyclic_garbage]
    grown = report.resources.grown()
    if grown:
        changes = ", ".join(
            f"{name} {report.resources.before.get(name, 0)} -> {report.resources.after[name]}"
            for name in grown
        )
        lines += ["", f"open resources grew: {changes}"]
    return "\n".join(lines)


def _headline(report: LeakReport) -> str:
    verdict = f"{len(report.leaks)} leak(s) found" if report.leaks else "no leaks found"
    return (
        f"memhound leaks {report.target}: {verdict} "
        f"({report.iterations} iterations after {report.warmup} warm-up, {report.duration_s:.2f} s)"
    )


def _render_leak(number: int, leak: Leak) -> list[str]:
    growth = f"+{leak.count_per_iteration:g} objects, +{human_bytes(leak.bytes_per_iteration)}"
    lines = [f"#{number} [{', '.join(leak.kinds)}] {leak.type}: {growth} per iteration"]
    lines += _render_stack("allocated at", leak.allocated_at)
    if leak.retained_by:
        lines.append(f"   retained by   {leak.retained_by}")
    if leak.resource:
        lines.append(f"   resource      {leak.resource}")
    return lines


def _render_stack(title: str, frames: list[Frame]) -> list[str]:
    if not frames:
        return [f"   {title:<13} (no Python frame: allocated by native code)"]
    lines = []
    for index, frame in enumerate(frames[:SHOWN_FRAMES]):
        label = title if index == 0 else ""
        lines.append(f"   {label:<13} {frame}")
        source = linecache.getline(frame.file, frame.line).strip()
        if source:
            lines.append(f"   {'':<13}     {source}")
    if len(frames) > SHOWN_FRAMES:
        lines.append(f"   {'':<13} ... {len(frames) - SHOWN_FRAMES} more frame(s)")
    return lines


def _render_garbage(entry: CyclicGarbage) -> str:
    where = str(entry.allocated_at[0]) if entry.allocated_at else "(native)"
    return (
        f"   {entry.type}: {entry.objects_per_iteration:g} objects "
        f"({human_bytes(entry.bytes_per_iteration)}) per iteration, allocated at {where}"
    )
