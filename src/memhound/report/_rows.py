"""The plain rows the renderers take: what `Capture.sites()` and `Capture.stats()` return.

Renderers depend on these shapes only, never on a Capture, so that tests fabricate them.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class FrameRow(TypedDict):
    file: str
    function: str
    line: int | None  # None: the instruction has no line (compiler-generated code)


class NativeFrameRow(TypedDict):
    """A C frame of a capture recorded with --native-frames, named at read time."""

    address: int  # the return address as recorded
    object: str  # the loaded object's path; "" when no recorded mapping holds the address
    offset: int  # address - the object's load bias
    function: str  # demangled; "" when no symbol covers it (or the file changed or is gone)
    file: str  # source file from DWARF line info; "" without it
    line: int | None


class SiteRow(TypedDict):
    bytes: int
    count: int
    frames: list[FrameRow]  # innermost first; empty when no Python frame was running
    # where the memory came from: "pymem" (Python's allocators, the default when absent),
    # "tracked" (PyTraceMalloc_Track: numpy's arrays), "malloc" or "mmap" (--native)
    allocator: NotRequired[str]
    # --native-frames: the C frames under the Python frames, innermost first (the allocator's caller)
    native_frames: NotRequired[list[NativeFrameRow]]


class SiteSummary(TypedDict):
    """The top sites of a view and the totals over all of its sites (Capture.site_summary)."""

    total_bytes: int
    total_count: int
    site_count: int
    sites: list[SiteRow]


# Untraced memory is worth a warning from this much on, when it is also this share of the peak
# RSS: an interpreter with a few C extensions loaded holds 20-60 MiB that no allocator hook sees
# (code, stacks, the libraries' static data), which is no news to the reader.
UNTRACED_WARNING_BYTES = 64 * 1024 * 1024
UNTRACED_WARNING_SHARE = 0.5


def is_large_gap(unexplained: int, rss: int) -> bool:
    """Whether memory that a report's figures do not explain is worth a hint."""
    return unexplained >= UNTRACED_WARNING_BYTES and unexplained >= UNTRACED_WARNING_SHARE * rss


class MemoryInfo(TypedDict):
    """The traced peak against the process's peak RSS (the writer thread's samples)."""

    traced_peak_bytes: int
    peak_rss_bytes: int  # the largest RSS sample in the window
    untraced_bytes: int  # peak_rss_bytes - traced_peak_bytes, at least 0
    large_gap: bool  # untraced_bytes passes both warning thresholds
    native: bool  # the capture traced the C allocator too


class CaptureInfo(TypedDict):
    """What a report says about the file itself."""

    path: str
    header: dict[str, Any]  # Capture.header
    complete: bool
    truncated_at: int | None
    event_count: int  # events read (in the window when there is one)
    file_event_count: int
    window: list[int | None] | None  # [from_seq, until_seq] read, None for the whole capture
    memory: NotRequired[MemoryInfo | None]  # None when the capture has no RSS sample


def capture_info(capture: Any, path: str) -> CaptureInfo:
    """The CaptureInfo of a memhound._core.Capture."""
    return CaptureInfo(
        path=path,
        header=dict(capture.header),
        complete=bool(capture.complete),
        truncated_at=capture.truncated_at,
        event_count=int(capture.event_count),
        file_event_count=int(capture.file_event_count),
        window=list(capture.window) if capture.window is not None else None,
        memory=memory_info(capture),
    )


def memory_info(capture: Any) -> MemoryInfo | None:
    """How much of the peak RSS the trace saw, or None without RSS samples."""
    samples = [point["rss_bytes"] for point in capture.timeline() if point["rss_bytes"] > 0]
    if not samples:
        return None
    peak_rss = max(samples)
    traced = int(capture.peak_bytes)
    untraced = max(0, peak_rss - traced)
    return MemoryInfo(
        traced_peak_bytes=traced,
        peak_rss_bytes=peak_rss,
        untraced_bytes=untraced,
        large_gap=is_large_gap(untraced, peak_rss),
        native=bool(capture.header.get("native", False)),
    )
