"""Terminal tables for `memhound report` and `memhound stats`, over plain rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from memhound.report._format import (
    format_bytes,
    format_count,
    format_power_of_two,
    format_share,
    short_path,
    source_line,
)
from memhound.report._rows import CaptureInfo, FrameRow, NativeFrameRow, SiteRow, SiteSummary

SourceLookup = Callable[[str, int | None], str]

# Frames shown per site when grouping by line or function (by stack shows them all).
CALLERS_SHOWN = 4
NATIVE_FRAMES_SHOWN = 8

_VIEW_TITLES = {
    "peak": "Memory live at the peak",
    "leaks": "Memory still live at the end",
    "temporary": "Temporary allocations (freed soon after being made)",
}

_NUMBER_WIDTHS = (4, 11, 8, 12)  # '#', bytes, share, count
_INDENT = " " * (sum(_NUMBER_WIDTHS) + 2)


def render_sites(
    summary: SiteSummary,
    *,
    view: str,
    by: str,
    info: CaptureInfo | None = None,
    source: SourceLookup = source_line,
) -> str:
    """The report table: the summary's rows with their share of the view's total."""
    rows = summary["sites"]
    lines = [_sites_title(view, by, summary)]
    if info is not None:
        lines.append(_capture_line(info))
    if not rows:
        lines.append("No allocations in this view.")
        return "\n".join(lines) + "\n"
    lines.append("")
    lines.append(_header_row())
    for rank, row in enumerate(rows, start=1):
        lines.append(
            _number_cells(rank, row, _share(row, summary, view))
            + _where(row["frames"], 0)
            + _allocator_note(row)
        )
        lines.extend(_stack_lines(row["frames"], by, source))
        lines.extend(_native_lines(row.get("native_frames", []), by))
    return "\n".join(lines) + "\n"


def _share(row: SiteRow, summary: SiteSummary, view: str) -> str:
    # Temporary rows are ranked by how many allocations, held memory by how many bytes.
    if view == "temporary":
        return format_share(row["count"], summary["total_count"])
    return format_share(row["bytes"], summary["total_bytes"])


def _sites_title(view: str, by: str, summary: SiteSummary) -> str:
    title = _VIEW_TITLES.get(view, view)
    return (
        f"{title}: {format_bytes(summary['total_bytes'])} in {format_count(summary['total_count'])}"
        f" allocations (top {len(summary['sites'])} of {summary['site_count']} sites by {by})"
    )


def _capture_line(info: CaptureInfo) -> str:
    header = info["header"]
    program = f" of `{_command_line(header)}`" if header.get("argv") else ""
    mode = f"{header.get('mode')} mode"
    if header.get("mode") == "sampled":
        mode += ", estimated from samples"
    if header.get("native"):
        mode += ", native allocations included"
    line = f"Capture {info['path']}{program} (pid {header.get('pid')}, {mode}, {_state(info)})"
    memory = memory_line(info)
    if memory:
        line += f"\n{memory}"
    window = _window_text(info)
    return line + (f"\n{window}" if window else "")


def memory_line(info: CaptureInfo) -> str:
    """How much of the peak RSS the trace saw, with a hint when much of it was not; '' without samples."""
    memory = info.get("memory")
    if not memory:
        return ""
    line = (
        f"Traced {format_bytes(memory['traced_peak_bytes'])} of "
        f"{format_bytes(memory['peak_rss_bytes'])} peak RSS"
    )
    if not memory["large_gap"]:
        return line
    if memory["native"]:
        return (
            line + f"; {format_bytes(memory['untraced_bytes'])} untraced"
            " (code, thread stacks, file mappings, allocator overhead)"
        )
    return line + "; run with --native to see the rest"


def _state(info: CaptureInfo) -> str:
    if info["complete"]:
        return "complete"
    return f"truncated at byte {info['truncated_at']}"


def _window_text(info: CaptureInfo) -> str:
    """Which part of the run a windowed report covers, or ''."""
    window = info.get("window")
    if not window:
        return ""
    start, end = window
    upto = f"before event {end:,}" if end is not None else "to the end"
    return (
        f"Window: events from {start:,} {upto} "
        f"({format_count(info['event_count'])} of {format_count(info['file_event_count'])} events)"
    )


def _command_line(header: dict[str, Any]) -> str:
    return " ".join(header.get("argv") or []) or "(command line not recorded)"


def _header_row() -> str:
    names = ("#", "bytes", "share", "count")
    cells = "".join(name.rjust(width) for name, width in zip(names, _NUMBER_WIDTHS))
    return cells + "  where"


def _number_cells(rank: int, row: SiteRow, share: str) -> str:
    values = (str(rank), format_bytes(row["bytes"]), share, format_count(row["count"]))
    return "".join(value.rjust(width) for value, width in zip(values, _NUMBER_WIDTHS)) + "  "


# How a row names memory that is not Python's own (SiteRow.allocator).
_ALLOCATOR_NOTES = {
    "tracked": "  [PyTraceMalloc_Track]",
    "malloc": "  [malloc]",
    "mmap": "  [mmap]",
}


def _allocator_note(row: SiteRow) -> str:
    return _ALLOCATOR_NOTES.get(row.get("allocator", "pymem"), "")


def _where(frames: Sequence[FrameRow], index: int) -> str:
    if not frames:
        return "<no Python frame>"
    frame = frames[index]
    line = frame["line"] if frame["line"] is not None else "?"
    prefix = "" if index == 0 else "from "
    return f"{prefix}{frame['function']}  {short_path(frame['file'])}:{line}"


def _stack_lines(frames: Sequence[FrameRow], by: str, source: SourceLookup) -> list[str]:
    """The source of the innermost frame, then its callers with their source lines."""
    out: list[str] = []
    shown = len(frames) if by == "stack" else min(len(frames), 1 + CALLERS_SHOWN)
    for index in range(shown):
        if index > 0:
            out.append(_INDENT + _where(frames, index))
        text = source(frames[index]["file"], frames[index]["line"])
        if text:
            out.append(_INDENT + "    " + text)
    if shown < len(frames):
        out.append(_INDENT + f"... {len(frames) - shown} more callers (--by stack shows all)")
    return out


def _native_lines(frames: Sequence[NativeFrameRow], by: str) -> list[str]:
    """The C frames under the Python ones (--native-frames), innermost first."""
    if not frames:
        return []
    shown = len(frames) if by == "stack" else min(len(frames), NATIVE_FRAMES_SHOWN)
    out = [_INDENT + "C stack, innermost first:"]
    out.extend(_INDENT + "  " + native_where(frame) for frame in frames[:shown])
    if shown < len(frames):
        out.append(_INDENT + f"  ... {len(frames) - shown} more C frames (--by stack shows all)")
    return out


def native_where(frame: NativeFrameRow) -> str:
    """`function  file:line  (object)`, or `object+0xOFFSET` when no symbol names it."""
    name = frame["object"].rsplit("/", 1)[-1] or "?"
    if not frame["function"]:
        return f"{name}+{frame['offset']:#x}"
    where = frame["function"]
    if frame["file"]:
        line = frame["line"] if frame["line"] is not None else "?"
        where += f"  {short_path(frame['file'])}:{line}"
    return f"{where}  ({name})"


def render_stats(stats: dict[str, Any], info: CaptureInfo, *, top: int = 10) -> str:
    """`memhound stats`: totals, peak, rates, the size histogram and the top sites by count."""
    lines = _summary_lines(stats, info)
    lines += ["", "Allocation sizes", *_histogram_lines(stats["size_histogram"])]
    lines += ["", "Top sites by number of allocations", *_top_site_lines(stats["top_sites"][:top])]
    return "\n".join(lines) + "\n"


def _summary_lines(stats: dict[str, Any], info: CaptureInfo) -> list[str]:
    header = info["header"]
    duration = stats.get("duration_s")
    mode = header.get("mode", "full")
    if mode == "sampled":
        mode += f" (one sample per {format_bytes(header.get('sample_bytes', 0))} on average; figures are estimates)"
    fields = [
        ("capture", f"{info['path']} ({_state(info)}, format version {header.get('version')})"),
        (
            "program",
            f"{_command_line(header)} (pid {header.get('pid')}, Python {header.get('python_version')})",
        ),
        ("mode", mode),
        ("duration", f"{duration:.2f} s" if duration else "unknown"),
        (
            "events",
            f"{format_count(stats['events'])} ({format_count(stats['recorded_allocations'])} allocations, {format_count(stats['recorded_frees'])} frees)",
        ),
        (
            "allocated",
            f"{format_bytes(stats['allocated_bytes'])} in {format_count(stats['allocations'])} allocations",
        ),
        ("rate", _rate(stats, duration)),
        (
            "peak",
            f"{format_bytes(stats['peak_bytes'])} live (traced), reached at event #{stats['peak_seq']}",
        ),
        (
            "at the end",
            f"{format_bytes(stats['live_bytes'])} live in {format_count(stats['live_allocations'])} allocations",
        ),
        ("threads", str(stats["threads"])),
    ]
    if info.get("window"):
        fields.insert(5, ("window", _window_text(info).removeprefix("Window: ")))
    memory = memory_line(info)
    if memory:
        fields.insert([name for name, _ in fields].index("peak") + 1, ("memory", memory))
    width = max(len(name) for name, _ in fields)
    return [f"{name.ljust(width)}  {value}" for name, value in fields]


def _rate(stats: dict[str, Any], duration: float | None) -> str:
    if not duration:
        return "unknown (no duration recorded)"
    per_second = stats["allocations"] / duration
    return f"{format_count(per_second)} allocations/s, {format_bytes(stats['allocated_bytes'] / duration)}/s"


def _histogram_lines(buckets: Sequence[dict[str, int]]) -> list[str]:
    if not buckets:
        return ["  (no allocations)"]
    most = max(bucket["count"] for bucket in buckets)
    out = [f"{'size (from - below)':>23}  {'count':>12}  {'bytes':>10}"]
    for bucket in buckets:
        span = f"{format_power_of_two(bucket['low'])} - {format_power_of_two(bucket['high'])}"
        bar = "#" * max(1, round(30 * bucket["count"] / most)) if bucket["count"] else ""
        out.append(
            f"{span:>23}  {format_count(bucket['count']):>12}  {format_bytes(bucket['bytes']):>10}  {bar}"
        )
    return out


def _top_site_lines(rows: Sequence[SiteRow]) -> list[str]:
    if not rows:
        return ["  (no allocations)"]
    out = [f"{'count':>12}  {'bytes':>10}  where"]
    for row in rows:
        out.append(
            f"{format_count(row['count']):>12}  {format_bytes(row['bytes']):>10}  {_where(row['frames'], 0)}"
        )
    return out
