"""Dropping the launcher's frames: what started the traced code, below the program's own frames.

Under `memhound run` the outer frames are the console script, memhound's CLI, its program
runner and runpy; under the leak checker they are memhound's loop. None of them is the user's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import memhound
from memhound.report._rows import FrameRow, SiteRow

PACKAGE_DIR = os.path.dirname(os.path.abspath(memhound.__file__))


def _in_package(frame: FrameRow, package_dir: str) -> bool:
    """A file of this memhound package, or of another install of it (the one that traced)."""
    path = os.path.abspath(frame["file"])
    if path.startswith(package_dir + os.sep):
        return True
    marker = os.sep + "memhound" + os.sep
    at = path.rfind(marker)
    return at >= 0 and os.path.isfile(os.path.join(package_dir, path[at + len(marker) :]))


def _is_runpy(frame: FrameRow) -> bool:
    return frame["file"] == "<frozen runpy>" or os.path.basename(frame["file"]) == "runpy.py"


def without_launcher_frames(
    frames: Sequence[FrameRow], package_dir: str = PACKAGE_DIR
) -> list[FrameRow]:
    """Cuts at the innermost memhound frame below the first, with the runpy frames that lead to it.

    The innermost frame always stays (an allocation made by the launcher itself keeps its place).
    """
    end = launcher_end(
        len(frames),
        lambda i: _in_package(frames[i], package_dir),
        lambda i: _is_runpy(frames[i]),
    )
    return list(frames[:end])


def launcher_end(
    count: int, in_package: Callable[[int], bool], is_runpy: Callable[[int], bool]
) -> int:
    """How many of `count` frames (innermost first) are the program's: the rule of
    without_launcher_frames, over predicates of a frame's index."""
    end = next((i for i in range(1, count) if in_package(i)), count)
    if end == count:
        return count
    while end > 1 and is_runpy(end - 1):
        end -= 1
    return end


def is_launcher_file(path: str, package_dir: str = PACKAGE_DIR) -> bool:
    """Whether a frame in this file is memhound's own (see _in_package)."""
    return _in_package({"file": path, "function": "", "line": None}, package_dir)


def is_runpy_file(path: str) -> bool:
    return _is_runpy({"file": path, "function": "", "line": None})


def trim_rows(rows: Sequence[SiteRow], package_dir: str = PACKAGE_DIR) -> list[SiteRow]:
    return [{**row, "frames": without_launcher_frames(row["frames"], package_dir)} for row in rows]
