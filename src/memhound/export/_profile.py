"""The stacks of one view, as every export format needs them: distinct frames, and per stack
its frames (innermost first) and one amount per measure, without the launcher's frames."""

from __future__ import annotations

from dataclasses import dataclass

from memhound._core import Capture
from memhound.report._frames import is_launcher_file, is_runpy_file, launcher_end

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


@dataclass(frozen=True)
class Stack:
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
    cutting made two stacks the same."""
    measures = VIEW_MEASURES[view]
    raw_frames, raw_stacks = capture.profile(list(measures))
    frames = [Frame(*frame) for frame in raw_frames]
    launcher = [is_launcher_file(frame.file) for frame in frames]
    runpy = [is_runpy_file(frame.file) for frame in frames]
    pseudo: dict[str, int] = {}  # a pseudo frame's name -> its index, added when first needed

    def pseudo_frame(name: str) -> int:
        if name not in pseudo:
            pseudo[name] = len(frames)
            frames.append(Frame(name, "", 0, 0))
        return pseudo[name]

    merged: dict[tuple[tuple[int, ...], str], list[list[int]]] = {}
    for indices, allocator, amounts, counts in raw_stacks:
        kept = _program_frames(indices, launcher, runpy) or (pseudo_frame(NO_PYTHON_FRAME),)
        if allocator in ALLOCATOR_FRAMES:
            kept = (pseudo_frame(ALLOCATOR_FRAMES[allocator]), *kept)
        into = merged.setdefault((kept, allocator), [[0] * len(measures), [0] * len(measures)])
        for i in range(len(measures)):
            into[0][i] += amounts[i]
            into[1][i] += counts[i]
    stacks = [
        Stack(kept, allocator, tuple(amounts), tuple(counts))
        for (kept, allocator), (amounts, counts) in merged.items()
    ]
    stacks.sort(key=lambda stack: -stack.bytes[0])  # stable: the core's order among equals
    return Profile(view, measures, frames, stacks)


def _program_frames(indices: list[int], launcher: list[bool], runpy: list[bool]) -> tuple[int, ...]:
    end = launcher_end(len(indices), lambda i: launcher[indices[i]], lambda i: runpy[indices[i]])
    return tuple(indices[:end])
