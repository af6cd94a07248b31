"""Renderers of capture reports: terminal tables and JSON, over plain rows (see _rows)."""

from memhound.report._format import format_bytes, format_count, source_line
from memhound.report._frames import trim_rows, without_launcher_frames
from memhound.report._json import dumps, sites_document, stats_document
from memhound.report._rows import CaptureInfo, FrameRow, SiteRow, SiteSummary, capture_info
from memhound.report._text import render_sites, render_stats

__all__ = [
    "CaptureInfo",
    "FrameRow",
    "SiteRow",
    "SiteSummary",
    "capture_info",
    "dumps",
    "format_bytes",
    "format_count",
    "render_sites",
    "render_stats",
    "sites_document",
    "source_line",
    "stats_document",
    "trim_rows",
    "without_launcher_frames",
]
