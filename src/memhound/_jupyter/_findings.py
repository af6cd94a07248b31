"""The findings of `%%memhound_leaks`, as text and HTML, from a LeakReport (plain data): per
leak its kinds, growth, where it was allocated (cells named as the notebook names them) and
what holds it."""

from __future__ import annotations

import sys
from collections.abc import Callable

from memhound._jupyter._output import escape, section
from memhound._leaks._model import PROGRAM, Frame, Leak, LeakReport
from memhound._leaks._render import SHOWN_FRAMES, human_bytes
from memhound.report import FrameRow

Where = Callable[[FrameRow], str]
Source = Callable[[str, int | None], str]


def title(report: LeakReport) -> str:
    verdict = f"{len(report.leaks)} leak(s) found" if report.leaks else "no leaks found"
    return (
        f"memhound leaks {report.target}: {verdict} ({report.iterations} iterations after "
        f"{report.warmup} warm-up, {report.duration_s:.2f} s)"
    )


def notes(report: LeakReport) -> list[str]:
    """What else the check saw: more rounds, bounded caches, cyclic garbage, open resources."""
    out = [report.extension.describe()] if report.extension else []
    for leak in report.bounded:
        assert leak.bound is not None
        out.append(
            f"not a leak: {leak.bound.describe()}, +{_count(leak.count_per_iteration)} "
            f"{leak.type} per iteration"
        )
    if report.cyclic_garbage:
        objects = sum(entry.objects_per_iteration for entry in report.cyclic_garbage)
        out.append(f"cyclic garbage reclaimed by the collector: {objects:g} objects per iteration")
    grown = report.resources.grown()
    if grown:
        out.append(
            "open resources grew: " + ", ".join(f"{name} +{delta}" for name, delta in grown.items())
        )
    return out


def growth(leak: Leak) -> str:
    """As `memhound leaks` says it: 'bytearray: +2 objects, +4.0 KiB per iteration'."""
    return (
        f"{leak.type}: +{_count(leak.count_per_iteration)} objects, "
        f"+{human_bytes(leak.bytes_per_iteration)} per iteration"
    )


def holder(leak: Leak) -> str:
    """What keeps the leak alive: the retention path, the resource, whose code holds it."""
    parts = [leak.retained_by or "", leak.resource or "", _held_by(leak)]
    return "; ".join(part for part in parts if part)


def _held_by(leak: Leak) -> str:
    held = leak.held_by
    if held is None:
        return ""
    if held.side == PROGRAM and held.module not in sys.modules:
        # named after a cell's file (a kernel's /tmp/ipykernel_*/123.py): no module of that name
        return "held by the program (the cells' code)"
    return f"held by {held.describe()}"


def render_text(report: LeakReport, where: Where, source: Source) -> str:
    lines = [title(report), *notes(report)]
    for number, leak in enumerate(report.leaks, start=1):
        lines += ["", f"#{number} [{', '.join(leak.kinds)}] {growth(leak)}"]
        for index, frame in enumerate(leak.allocated_at[:SHOWN_FRAMES]):
            label = "allocated at" if index == 0 else "from"
            lines.append(f"   {label:<13} {where(_row(frame))}")
            text = source(frame.file, frame.line)
            if text:
                lines.append(f"   {'':<13}     {text}")
        if not leak.allocated_at:
            lines.append(f"   {'allocated at':<13} (no Python frame: allocated by native code)")
        if holder(leak):
            lines.append(f"   {'retained by':<13} {holder(leak)}")
    return "\n".join(lines)


def render_html(report: LeakReport, where: Where, source: Source) -> str:
    if not report.leaks:
        return section(title(report), notes(report), "")
    head = "<th>#</th><th>kinds</th><th>growth</th><th>allocated at</th><th>retained by</th>"
    rows = "".join(
        _html_row(number, leak, where, source) for number, leak in enumerate(report.leaks, 1)
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return section(title(report), notes(report), table)


def _html_row(number: int, leak: Leak, where: Where, source: Source) -> str:
    kinds = "".join(f'<span class="kind">{escape(kind)}</span>' for kind in leak.kinds)
    return (
        f'<tr><td class="num">{number}</td><td>{kinds}</td><td>{escape(growth(leak))}</td>'
        f"<td>{_html_stack(leak.allocated_at, where, source)}</td>"
        f"<td>{escape(holder(leak))}</td></tr>"
    )


def _html_stack(frames: list[Frame], where: Where, source: Source) -> str:
    if not frames:
        return "(no Python frame: allocated by native code)"
    first = frames[0]
    text = source(first.file, first.line)
    innermost = escape(where(_row(first))) + (f"<br><code>{escape(text)}</code>" if text else "")
    callers = frames[1:SHOWN_FRAMES]
    if not callers:
        return innermost
    listed = "".join(f"<div>from {escape(where(_row(frame)))}</div>" for frame in callers)
    return f"<details><summary>{innermost}</summary>{listed}</details>"


def _row(frame: Frame) -> FrameRow:
    return FrameRow(file=frame.file, function=frame.function, line=frame.line or None)


def _count(per_iteration: float) -> str:
    whole = per_iteration == round(per_iteration)
    return f"{per_iteration:.0f}" if whole else f"{per_iteration:.1f}"
