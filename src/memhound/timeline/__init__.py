"""`memhound timeline`: traced memory and RSS over time, with the peak marked, as SVG or PNG."""

from __future__ import annotations

import os

from memhound._core import Capture
from memhound._errors import UsageError
from memhound.timeline._chart import Chart, Scale, Series, layout
from memhound.timeline._png import png_bytes
from memhound.timeline._svg import svg_text

# The picture formats, by the output file's extension.
EXTENSIONS = (".svg", ".png")

__all__ = [
    "EXTENSIONS",
    "Chart",
    "Scale",
    "Series",
    "layout",
    "picture_kind",
    "series_of",
    "write_timeline",
]

_TITLE_LENGTH = 70


def series_of(capture: Capture) -> Series:
    points = capture.timeline()
    if not points:
        raise UsageError("the capture has no memory samples to draw (it ended before the first)")
    program = " ".join(capture.header["argv"]) or "python"
    if len(program) > _TITLE_LENGTH:
        program = program[: _TITLE_LENGTH - 3] + "..."
    stats = capture.stats()
    return Series(
        title=f"memhound timeline: {program}",
        times=[point["time_s"] for point in points],
        traced=[float(point["traced_bytes"]) for point in points],
        rss=[float(point["rss_bytes"]) for point in points],
        peak_bytes=float(stats["peak_bytes"]),
        peak_time=capture.peak_time_s,
        end_time=max(stats["duration_s"] or 0.0, points[-1]["time_s"]),
    )


def picture_kind(path: str | os.PathLike[str]) -> str:
    """'svg' or 'png', from the file name; a UsageError for any other."""
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension not in EXTENSIONS:
        raise UsageError(
            f"cannot tell the picture format of {os.fspath(path)!r}: name it .svg or .png"
        )
    return extension[1:]


def write_timeline(capture: Capture, path: str | os.PathLike[str]) -> None:
    kind = picture_kind(path)
    chart, _ = layout(series_of(capture))
    content = svg_text(chart).encode() if kind == "svg" else png_bytes(chart)
    try:
        with open(path, "wb") as out:
            out.write(content)
    except OSError as exc:
        raise UsageError(f"cannot write {os.fspath(path)}: {exc.strerror or exc}") from None
