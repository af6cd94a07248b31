"""The plain rows the renderers take: what `Capture.sites()` and `Capture.stats()` return.

Renderers depend on these shapes only, never on a Capture, so that tests fabricate them.
"""

from __future__ import annotations

from typing import Any, TypedDict


class FrameRow(TypedDict):
    file: str
    function: str
    line: int | None  # None: the instruction has no line (compiler-generated code)


class SiteRow(TypedDict):
    bytes: int
    count: int
    frames: list[FrameRow]  # innermost first; empty when no Python frame was running


class SiteSummary(TypedDict):
    """The top sites of a view and the totals over all of its sites (Capture.site_summary)."""

    total_bytes: int
    total_count: int
    site_count: int
    sites: list[SiteRow]


class CaptureInfo(TypedDict):
    """What a report says about the file itself."""

    path: str
    header: dict[str, Any]  # Capture.header
    complete: bool
    truncated_at: int | None
    event_count: int  # events read (in the window when there is one)
    file_event_count: int
    window: list[int | None] | None  # [from_seq, until_seq] read, None for the whole capture


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
    )
