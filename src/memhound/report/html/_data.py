"""The page's data: a capture's views as interned frames and stacks, bounded in size.

The page gets trees' leaves, never events: each view is a list of (stack, bytes, count) over a
shared table of stacks (frame indexes, outermost first) and frames (function, file, line,
source line). The browser builds the flame tree from them. What keeps the page small:
- a view keeps its largest stacks, at most MAX_STACKS and none under MIN_SHARE of its total; the
  rest is summed into one `rest` entry that the page shows as a frame of its own;
- the timeline keeps at most MAX_TIMELINE_POINTS RSS samples (the largest traced one always);
- what was live over time is precomputed at LIVE_POINTS samples evenly spaced in time (one more
  pass over the capture in C++, Capture.live_at), each with at most MAX_LIVE_STACKS stacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from memhound.report._format import source_line
from memhound.report._frames import without_launcher_frames
from memhound.report._rows import FrameRow

MAX_STACKS = 3000
MIN_SHARE = 1e-5
MAX_TIMELINE_POINTS = 1500
LIVE_POINTS = 24
MAX_LIVE_STACKS = 400
NO_FRAME = "<no Python frame>"
# A site's allocator other than Python's own is a frame of its own under its line.
ALLOCATOR_FRAMES = {"tracked": "[PyTraceMalloc_Track]", "malloc": "[malloc]", "mmap": "[mmap]"}

SourceLookup = Callable[[str, int | None], str]


class StackTable:
    """Interns frames and stacks so that each is written into the page once."""

    def __init__(
        self, source: SourceLookup = source_line, file_label: Callable[[str], str] | None = None
    ) -> None:
        self._source = source
        self._file_label = file_label  # how the page names a file (a notebook's cells)
        self._frames: dict[tuple[str, str, int | None], int] = {}
        self._stacks: dict[tuple[int, ...], int] = {}
        self.frames: list[list[Any]] = []
        self.stacks: list[list[int]] = []

    def frame(self, function: str, file: str, line: int | None) -> int:
        key = (function, file, line)
        index = self._frames.get(key)
        if index is None:
            index = self._frames[key] = len(self.frames)
            text = self._source(file, line) if file else ""
            shown = self._file_label(file) if self._file_label and file else file
            self.frames.append([function, shown, line, text])
        return index

    def stack(self, frames: Sequence[FrameRow], allocator: str = "pymem") -> int:
        """The index of a stack given innermost first, as captures and leak reports give it."""
        path = [self.frame(f["function"], f["file"], f["line"]) for f in reversed(frames)]
        if not path:
            path.append(self.frame(NO_FRAME, "", None))
        if allocator in ALLOCATOR_FRAMES:
            path.append(self.frame(ALLOCATOR_FRAMES[allocator], "", None))
        key = tuple(path)
        index = self._stacks.get(key)
        if index is None:
            index = self._stacks[key] = len(self.stacks)
            self.stacks.append(path)
        return index

    def document(self) -> dict[str, Any]:
        return {"frames": self.frames, "stacks": self.stacks}


def pruned_view(
    entries: Iterable[tuple[int, float, float]], total_bytes: float, total_count: float
) -> dict[str, Any]:
    """A view's (stack, bytes, count) entries, largest first, with the small ones summed."""
    ranked = sorted(entries, key=lambda entry: (-entry[1], -entry[2], entry[0]))
    floor = total_bytes * MIN_SHARE
    kept: list[tuple[int, float, float]] = []
    for entry in ranked:  # largest first: what is kept is a prefix
        if len(kept) == MAX_STACKS or entry[1] < floor:
            break
        kept.append(entry)
    rest = ranked[len(kept) :]
    rest_bytes = sum(entry[1] for entry in rest)
    rest_count = sum(entry[2] for entry in rest)
    return {
        "total_bytes": round(total_bytes),
        "total_count": round(total_count),
        "stacks": [[stack, round(size), round(count)] for stack, size, count in kept],
        "rest": [round(rest_bytes), round(rest_count), len(rest)],
    }


def capture_view(capture: Any, view: str, table: StackTable) -> dict[str, Any]:
    """One view (peak, leaks, temporary) of a capture, by whole stack."""
    rows = capture.sites(view, "stack")
    merged: dict[int, list[float]] = {}
    for row in rows:
        stack = table.stack(without_launcher_frames(row["frames"]), row.get("allocator", "pymem"))
        amount = merged.setdefault(stack, [0.0, 0.0])
        amount[0] += row["bytes"]
        amount[1] += row["count"]
    total_bytes = sum(row["bytes"] for row in rows)
    total_count = sum(row["count"] for row in rows)
    entries = ((stack, amount[0], amount[1]) for stack, amount in merged.items())
    return {"name": view, "site_count": len(rows), **pruned_view(entries, total_bytes, total_count)}


def timeline_points(timeline: Sequence[dict[str, Any]]) -> list[list[float]]:
    """[time_s, rss_bytes, traced_bytes] per sample, thinned to MAX_TIMELINE_POINTS."""
    if len(timeline) <= MAX_TIMELINE_POINTS:
        chosen = list(range(len(timeline)))
    else:
        step = len(timeline) / MAX_TIMELINE_POINTS
        chosen = sorted({int(i * step) for i in range(MAX_TIMELINE_POINTS)} | {len(timeline) - 1})
        largest = max(range(len(timeline)), key=lambda i: timeline[i]["traced_bytes"])
        chosen = sorted(set(chosen) | {largest})
    return [
        [
            round(timeline[i]["time_s"], 6),
            timeline[i]["rss_bytes"],
            timeline[i]["traced_bytes"],
        ]
        for i in chosen
    ]


def live_points(capture: Any, timeline: Sequence[dict[str, Any]], table: StackTable) -> list[Any]:
    """What was live at up to LIVE_POINTS samples, evenly spaced in time over the run."""
    if not timeline:
        return []
    start, end = timeline[0]["time_s"], timeline[-1]["time_s"]
    picked: dict[int, dict[str, Any]] = {}
    position = 0
    for k in range(LIVE_POINTS):
        wanted = start + (end - start) * k / max(1, LIVE_POINTS - 1)
        while position + 1 < len(timeline) and timeline[position]["time_s"] < wanted:
            position += 1
        picked.setdefault(timeline[position]["seq"], timeline[position])
    samples = sorted(picked.values(), key=lambda point: point["seq"])
    summaries = capture.live_at([point["seq"] for point in samples], MAX_LIVE_STACKS)
    frames_of = _frame_cache(capture)
    points = []
    for point, summary in zip(samples, summaries, strict=True):
        entries: dict[int, list[float]] = {}
        for row in summary["sites"]:
            stack = table.stack(frames_of(row["stack"]), row["allocator"])
            amount = entries.setdefault(stack, [0.0, 0.0])
            amount[0] += row["bytes"]
            amount[1] += row["count"]
        view = pruned_view(
            ((stack, a[0], a[1]) for stack, a in entries.items()),
            summary["total_bytes"],
            summary["total_count"],
        )
        # Stacks past the limit of the C++ pass are part of the rest too.
        shown_bytes = sum(entry[1] for entry in view["stacks"])
        shown_count = sum(entry[2] for entry in view["stacks"])
        view["rest"] = [
            max(0, view["total_bytes"] - shown_bytes),
            max(0, view["total_count"] - shown_count),
            summary["site_count"] - len(view["stacks"]),
        ]
        points.append({"time_s": round(point["time_s"], 6), **view})
    return points


def _frame_cache(capture: Any) -> Callable[[int], list[FrameRow]]:
    cache: dict[int, list[FrameRow]] = {}

    def frames_of(stack: int) -> list[FrameRow]:
        frames = cache.get(stack)
        if frames is None:
            frames = cache[stack] = without_launcher_frames(capture.stack_frames(stack))
        return frames

    return frames_of


def peak_time(timeline: Sequence[dict[str, Any]], peak_seq: int) -> float | None:
    """The time of the first sample after the event that reached the peak (within 20 ms)."""
    after = [point["time_s"] for point in timeline if point["seq"] > peak_seq]
    if after:
        return round(after[0], 6)
    return round(timeline[-1]["time_s"], 6) if timeline else None


def program_name(header: dict[str, Any]) -> str:
    argv = header.get("argv") or []
    return " ".join(argv) if argv else "(unknown program)"
