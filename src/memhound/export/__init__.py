"""Profile exports of a capture: pprof (profile.proto, gzipped), speedscope's JSON and
collapsed stacks, each of one view (memory live at the peak, at the end, or temporary)."""

from __future__ import annotations

import os

from memhound._core import Capture
from memhound._errors import UsageError
from memhound.export._collapsed import collapsed_lines
from memhound.export._pprof import pprof_bytes
from memhound.export._profile import VIEW_MEASURES, Profile, profile_of
from memhound.export._speedscope import speedscope_text

FORMATS = ("speedscope", "pprof", "collapsed")
VIEWS = tuple(VIEW_MEASURES)

__all__ = ["FORMATS", "VIEWS", "Profile", "export_bytes", "profile_of", "write_export"]


def export_bytes(capture: Capture, fmt: str, view: str) -> bytes:
    """The file content of `view` of the capture in format `fmt` (one of FORMATS)."""
    profile = profile_of(capture, view)
    program = " ".join(capture.header["argv"]) or "python"
    if fmt == "pprof":
        stats = capture.stats()
        return pprof_bytes(
            profile,
            program=program,
            start_time_ns=capture.header["start_time_ns"],
            duration_ns=round((stats["duration_s"] or 0) * 1e9),
            sample_bytes=capture.header["sample_bytes"],
        )
    if fmt == "speedscope":
        from memhound import __version__

        exporter = f"memhound {__version__}"
        return speedscope_text(profile, program=program, exporter=exporter).encode()
    if fmt == "collapsed":
        return "".join(collapsed_lines(profile)).encode("utf-8", "replace")
    raise UsageError(f"unknown export format {fmt!r} (expected {', '.join(FORMATS)})")


def write_export(capture: Capture, fmt: str, view: str, path: str | os.PathLike[str]) -> None:
    content = export_bytes(capture, fmt, view)
    try:
        with open(path, "wb") as out:
            out.write(content)
    except OSError as exc:
        raise UsageError(f"cannot write {os.fspath(path)}: {exc.strerror or exc}") from None
