"""Reading capture files: the one door from Python to the C++ reader and analysis.

Every failure to read becomes memhound's CaptureError with one line that names the file (and,
for a corrupt file, the byte offset), so that commands can print it as it is.
"""

from __future__ import annotations

import os

from memhound import _core
from memhound._core import Capture
from memhound._errors import CaptureError


def read_capture(path: str | os.PathLike[str]) -> Capture:
    """Reads and indexes a capture file written by `memhound run` or `memhound.Tracker`.

    A capture cut short (the traced process was killed) is returned with `complete == False`
    and `truncated_at` set; a corrupt one, or one of a newer format, raises CaptureError.
    """
    name = os.fspath(path)
    try:
        return _core.read_capture(name)
    except _core.CaptureError as exc:
        raise CaptureError(f"{name} is not a readable capture: {exc}") from None
    except (_core.CoreError, OSError) as exc:
        raise CaptureError(_without_path(str(exc), name)) from None


def truncation_warning(capture: Capture, path: str | os.PathLike[str]) -> str | None:
    """The one-line warning for a capture whose writer did not stop cleanly, or None."""
    if capture.complete:
        return None
    return (
        f"{os.fspath(path)} ends at byte {capture.truncated_at} without its trailer "
        "(the traced process did not stop cleanly); reporting what was written before"
    )


def _without_path(message: str, path: str) -> str:
    # The core says "cannot open PATH: reason"; keep it, but make sure the path is named once.
    return message if path in message else f"cannot read {path}: {message}"
