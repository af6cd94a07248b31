"""JSON documents for `memhound report --json` and `memhound stats --json`, over plain rows.

report: {"schema": 1, "capture": {path, header, complete, truncated_at, event_count, memory},
         "view": "peak"|"leaks"|"temporary", "by": "line"|"function"|"stack",
         "total_bytes", "total_count", "site_count" (over every site of the view),
         "sites": [{"bytes", "count", "bytes_share", "count_share", "allocator",
                    "frames": [{"file", "function", "line" (null if unknown), "source"}],
                    "native_frames": [{"address", "object", "offset", "function", "file",
                                       "line"}] (--native-frames; [] otherwise)}]}
         (frames innermost first, without the launcher's frames; allocator "pymem", "tracked",
         "malloc" or "mmap"; memory: {traced_peak_bytes, peak_rss_bytes, untraced_bytes,
         large_gap, native} or null without RSS samples)
stats:  {"schema": 1, "capture": {...}, every key of Capture.stats(),
         "allocations_per_s", "bytes_per_s" (null without a duration)}
"""

from __future__ import annotations

import json
from typing import Any

from memhound.report._format import source_line
from memhound.report._rows import CaptureInfo, SiteRow, SiteSummary
from memhound.report._text import SourceLookup

SCHEMA_VERSION = 1


def sites_document(
    summary: SiteSummary,
    *,
    view: str,
    by: str,
    info: CaptureInfo,
    source: SourceLookup = source_line,
) -> dict[str, Any]:
    """The summary's sites, each frame with its source line, and the view's totals."""
    total_bytes, total_count = summary["total_bytes"], summary["total_count"]
    return {
        "schema": SCHEMA_VERSION,
        "capture": dict(info),
        "view": view,
        "by": by,
        "total_bytes": total_bytes,
        "total_count": total_count,
        "site_count": summary["site_count"],
        "sites": [_site(row, total_bytes, total_count, source) for row in summary["sites"]],
    }


def _site(row: SiteRow, total_bytes: int, total_count: int, source: SourceLookup) -> dict[str, Any]:
    return {
        "bytes": row["bytes"],
        "count": row["count"],
        "bytes_share": row["bytes"] / total_bytes if total_bytes else 0.0,
        "count_share": row["count"] / total_count if total_count else 0.0,
        "allocator": row.get("allocator", "pymem"),
        "frames": [
            {**frame, "source": source(frame["file"], frame["line"])} for frame in row["frames"]
        ],
        "native_frames": list(row.get("native_frames", [])),
    }


def stats_document(stats: dict[str, Any], info: CaptureInfo) -> dict[str, Any]:
    duration = stats.get("duration_s")
    rates = (
        {
            "allocations_per_s": stats["allocations"] / duration,
            "bytes_per_s": stats["allocated_bytes"] / duration,
        }
        if duration
        else {"allocations_per_s": None, "bytes_per_s": None}
    )
    return {"schema": SCHEMA_VERSION, "capture": dict(info), **stats, **rates}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"
