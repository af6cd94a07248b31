"""Dropping the launcher's frames: what `memhound run` and runpy put below the program's own."""

from __future__ import annotations

import os
from collections.abc import Sequence

import memhound
from memhound.report._rows import FrameRow, SiteRow

PACKAGE_DIR = os.path.dirname(os.path.abspath(memhound.__file__))


def is_launcher_frame(frame: FrameRow, package_dir: str = PACKAGE_DIR) -> bool:
    """A frame of runpy or of memhound itself (the code that started the traced program)."""
    file = frame["file"]
    if file == "<frozen runpy>" or os.path.basename(file) == "runpy.py":
        return True
    return os.path.abspath(file).startswith(package_dir + os.sep)


def without_launcher_frames(
    frames: Sequence[FrameRow], package_dir: str = PACKAGE_DIR
) -> list[FrameRow]:
    """The frames minus the outermost run of launcher frames; the innermost frame always stays."""
    end = len(frames)
    while end > 1 and is_launcher_frame(frames[end - 1], package_dir):
        end -= 1
    return list(frames[:end])


def trim_rows(rows: Sequence[SiteRow], package_dir: str = PACKAGE_DIR) -> list[SiteRow]:
    return [{**row, "frames": without_launcher_frames(row["frames"], package_dir)} for row in rows]
