"""Reading capture files: the one door from Python to the C++ reader and analysis.

Every failure to read becomes memhound's CaptureError with one line that names the file (and,
for a corrupt file, the byte offset), so that commands can print it as it is.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass

from memhound import _core
from memhound._core import Capture
from memhound._errors import CaptureError

_TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0}
_BOUND = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(us|ms|s|min)?\s*$")


@dataclass(frozen=True)
class Window:
    """Which events a report reads: by sequence number or seconds since the start (None = open).

    A bound in seconds falls on the first RSS sample taken at or after it (every 20 ms).
    """

    from_seq: int | None = None
    until_seq: int | None = None
    from_time: float | None = None
    until_time: float | None = None


def read_capture(
    path: str | os.PathLike[str], window: Window | None = None, *, progress: bool = False
) -> Capture:
    """Reads a capture file written by `memhound run` or `memhound.Tracker`, as a stream.

    Memory stays bounded by what is live at the worst point, not by the length of the run. A
    capture cut short (the traced process was killed, or is still writing it) is returned with
    `complete == False` and `truncated_at` set; a corrupt one, or one of a newer format, raises
    CaptureError. `progress` shows a line on stderr for reads over a second (on a terminal).
    """
    name = os.fspath(path)
    window = window or Window()
    try:
        return _core.read_capture(
            name,
            from_seq=window.from_seq,
            until_seq=window.until_seq,
            from_time=window.from_time,
            until_time=window.until_time,
            progress=progress,
        )
    except _core.CaptureError as exc:
        raise CaptureError(f"{name} is not a readable capture: {exc}") from None
    except (_core.CoreError, OSError) as exc:
        raise CaptureError(_without_path(str(exc), name)) from None


def truncation_warning(capture: Capture, path: str | os.PathLike[str]) -> str | None:
    """The one-line warning for a capture whose writer did not stop cleanly, or None."""
    if capture.complete:
        return None
    return (
        f"{os.fspath(path)} ends at byte {capture.truncated_at} without its trailer (the traced "
        "process is still writing it, or did not stop cleanly); reporting the "
        f"{capture.file_event_count:,} events written before"
    )


def add_view_arguments(parser: argparse.ArgumentParser) -> None:
    """--peak (the default) / --leaks / --temporary: which view of a capture to show."""
    views = parser.add_mutually_exclusive_group()
    for view, text in (
        ("peak", "memory live at the peak (default)"),
        ("leaks", "memory still live at the end"),
        ("temporary", "short-lived allocations"),
    ):
        views.add_argument(f"--{view}", dest="view", action="store_const", const=view, help=text)
    parser.set_defaults(view="peak")


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    """--from / --until: restrict a report to a part of the run."""
    for flag, text in (("--from", "start"), ("--until", "end (excluded)")):
        parser.add_argument(
            flag,
            dest=f"{flag[2:]}_bound",
            type=parse_bound,
            default=None,
            metavar="WHEN",
            help=f"{text} of the events read: an event sequence number (e.g. 120000) or a "
            "time since the start of tracing (e.g. 2.5s, 800ms, 1min)",
        )


def window_of(args: argparse.Namespace) -> Window:
    """The Window of parsed --from / --until arguments."""
    start, end = args.from_bound, args.until_bound
    return Window(
        from_seq=start if isinstance(start, int) else None,
        until_seq=end if isinstance(end, int) else None,
        from_time=start if isinstance(start, float) else None,
        until_time=end if isinstance(end, float) else None,
    )


def parse_bound(text: str) -> int | float:
    """An event number (int) or, with a unit, seconds since the start (float)."""
    match = _BOUND.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"not an event number or a time: {text!r} (e.g. 120000, 2.5s, 800ms, 1min)"
        )
    number, unit = match.groups()
    if unit is None:
        if "." in number:
            raise argparse.ArgumentTypeError(
                f"an event number is whole: {text!r} (for a time add a unit, e.g. {text}s)"
            )
        return int(number)
    return float(number) * _TIME_UNITS[unit]


def _without_path(message: str, path: str) -> str:
    # The core says "cannot open PATH: reason"; keep it, but make sure the path is named once.
    return message if path in message else f"cannot read {path}: {message}"
