"""The terminal report of a leak check, rendered from a LeakReport (plain data, no tracing)."""

from __future__ import annotations

import linecache

from memhound._leaks._model import CyclicGarbage, Frame, Leak, LeakReport, RssGrowth
from memhound._leaks._origin import is_program_file
from memhound.report._text import NATIVE_FRAMES_SHOWN, native_where

# How many frames of an allocation stack the terminal report shows (the JSON has them all).
SHOWN_FRAMES = 4
# How many sites of cyclic garbage it lists (the JSON has them all).
SHOWN_GARBAGE = 8


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
    if report.extension:
        lines.append(f"   {report.extension.describe()}")
    if report.memory:
        lines.append(f"   {_rss_line(report.memory)}")
    for number, leak in enumerate(report.leaks, start=1):
        lines += ["", *_render_leak(number, leak)]
    if report.bounded:
        lines += ["", "bounded caches filling (not leaks: each stops at its bound):"]
        lines += _render_bounded(report.bounded)
    if report.cyclic_garbage:
        total = report.collected_per_iteration
        count = f"{total:.0f} objects per iteration, " if total is not None else ""
        lines += ["", f"cyclic garbage reclaimed by the collector ({count}a cost, not a leak):"]
        lines += [_render_garbage(entry) for entry in report.cyclic_garbage[:SHOWN_GARBAGE]]
        hidden = report.cyclic_garbage[SHOWN_GARBAGE:]
        if hidden:
            objects = sum(entry.objects_per_iteration for entry in hidden)
            lines.append(f"   ... {len(hidden)} more site(s), {objects:g} objects per iteration")
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


def _rss_line(memory: RssGrowth) -> str:
    """The RSS growth against the findings, with a hint when much of it is unexplained."""
    sign = "+" if memory.rss_per_iteration > 0 else ""
    line = (
        f"RSS {sign}{human_bytes(memory.rss_per_iteration)} per iteration, the findings "
        f"explain {human_bytes(memory.explained_per_iteration)}"
    )
    if not memory.large_gap:
        return line
    return (
        line + f"; {human_bytes(memory.unexplained_per_iteration)} per iteration that no hook saw:"
        " native leak suspected (mmap or an allocator called through a pointer taken before the"
        " check, a statically linked allocator, libc's own allocations)"
    )


def _render_leak(number: int, leak: Leak) -> list[str]:
    growth = (
        f"+{_count(leak.count_per_iteration)} objects, +{human_bytes(leak.bytes_per_iteration)}"
    )
    lines = [f"#{number} [{', '.join(leak.kinds)}] {leak.type}: {growth} per iteration"]
    lines += _render_stack("allocated at", leak.allocated_at)
    lines += [
        f"   {'C stack' if index == 0 else '':<13} {native_where(frame)}"
        for index, frame in enumerate(leak.native_frames[:NATIVE_FRAMES_SHOWN])
    ]
    if leak.retained_by:
        lines.append(f"   retained by   {leak.retained_by}")
    if leak.resource:
        lines.append(f"   resource      {leak.resource}")
    if leak.held_by:
        lines.append(f"   held by       {leak.held_by.describe()}")
    return lines


def _render_stack(title: str, frames: list[Frame]) -> list[str]:
    if not frames:
        return [f"   {title:<13} (no Python frame: allocated by native code)"]
    shown = _shown_frames(frames)
    lines = []
    previous = -1
    for index in shown:
        if index > previous + 1:
            lines.append(f"   {'':<13} ... {index - previous - 1} more frame(s)")
        lines += _render_frame(title if index == 0 else "", frames[index])
        previous = index
    if len(frames) > previous + 1:
        lines.append(f"   {'':<13} ... {len(frames) - previous - 1} more frame(s)")
    return lines


def _shown_frames(frames: list[Frame]) -> list[int]:
    """The innermost frames, and the program's own innermost frame when a library's code made
    the allocation deeper down (the line of the program that led there)."""
    shown = list(range(min(SHOWN_FRAMES, len(frames))))
    if not any(is_program_file(frames[index].file) for index in shown):
        program = next((i for i, frame in enumerate(frames) if is_program_file(frame.file)), None)
        if program is not None:
            shown.append(program)
    return shown


def _render_frame(label: str, frame: Frame) -> list[str]:
    lines = [f"   {label:<13} {frame}"]
    source = linecache.getline(frame.file, frame.line).strip()
    if source:
        lines.append(f"   {'':<13}     {source}")
    return lines


def _render_bounded(bounded: list[Leak]) -> list[str]:
    """One line per bounded container, its growing sites together."""
    by_container: dict[str, list[Leak]] = {}
    for leak in bounded:
        assert leak.bound is not None
        by_container.setdefault(leak.bound.describe(), []).append(leak)
    lines = []
    for described, leaks in by_container.items():
        count = sum(leak.count_per_iteration for leak in leaks)
        size = sum(leak.bytes_per_iteration for leak in leaks)
        first = next((leak.allocated_at[0] for leak in leaks if leak.allocated_at), None)
        where = f", allocated at {first}" if first else ""
        lines.append(
            f"   {described}; +{count:.3g} objects ({human_bytes(size)}) per iteration{where}"
        )
    return lines


def _render_garbage(entry: CyclicGarbage) -> str:
    where = str(entry.allocated_at[0]) if entry.allocated_at else "(native)"
    return (
        f"   {entry.type}: {entry.objects_per_iteration:g} objects "
        f"({human_bytes(entry.bytes_per_iteration)}) per iteration, allocated at {where}"
    )


def _count(per_iteration: float) -> str:
    """An average count: whole when it is one, else one decimal (2.3, not 2.33333)."""
    return (
        f"{per_iteration:.0f}" if per_iteration == round(per_iteration) else f"{per_iteration:.1f}"
    )
