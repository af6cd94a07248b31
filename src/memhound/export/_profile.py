"""The stacks of one view, as every export format needs them: distinct frames, and per stack
its frames (innermost first) and one amount per measure, without the launcher's frames."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from memhound._core import Capture
from memhound.report._frames import is_launcher_file, is_runpy_file

# The views an export can show, and the capture's measures behind each: the view's own amounts,
# then every allocation made (pprof's alloc_space) where the view is memory held.
VIEW_MEASURES = {
    "peak": ("peak", "allocated"),
    "leaks": ("leaks", "allocated"),
    "temporary": ("temporary",),
}
# What an allocation with no Python frame running is shown as (a thread that never ran Python).
NO_PYTHON_FRAME = "[no Python frame]"
# The innermost frame that names memory which is not Python's own (pymem has none), as the
# text report marks such rows.
ALLOCATOR_FRAMES = {"tracked": "[PyTraceMalloc_Track]", "malloc": "[malloc]", "mmap": "[mmap]"}


@dataclass(frozen=True)
class Frame:
    function: str
    file: str
    line: int  # 0 = unknown
    function_line: int  # the function's first line; 0 = unknown


class Stack(NamedTuple):
    frames: tuple[int, ...]  # indices into Profile.frames, innermost first; never empty
    allocator: str  # "pymem", "tracked", "malloc" or "mmap"
    bytes: tuple[int, ...]  # one per measure
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Profile:
    view: str
    measures: tuple[str, ...]
    frames: list[Frame]
    stacks: list[Stack]  # largest first in the view's bytes

    def view_total(self) -> int:
        return sum(stack.bytes[0] for stack in self.stacks)


def profile_of(capture: Capture, view: str) -> Profile:
    """The stacks of `view` ('peak', 'leaks' or 'temporary'), launcher frames cut, merged when
    cutting made two stacks the same (the core does both)."""
    measures = VIEW_MEASURES[view]
    pseudo = {"": NO_PYTHON_FRAME, **ALLOCATOR_FRAMES}
    raw_frames, raw_stacks = capture.profile(list(measures), _role_of_file, pseudo)
    frames = [Frame(*frame) for frame in raw_frames]
    return Profile(view, measures, frames, list(map(Stack._make, raw_stacks)))


def _role_of_file(path: str) -> int:
    """The core's FrameRole of a frame in this file: the program's, the launcher's or runpy's."""
    return 1 if is_launcher_file(path) else 2 if is_runpy_file(path) else 0
