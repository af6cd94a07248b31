"""Where did growth that the tracer cannot see come from?

Two kinds of leak have no traced allocation to point at: bare file descriptors (os.open,
os.pipe, a detached socket: only an int) and native memory taken with the C library's malloc
(a C extension, ctypes), which the PyMem hooks do not see. When the detector finds either
growing at every checkpoint, it runs the unit a few more times under a line tracer that reads
the measure (open fds, or malloc's bytes in use) at every line event and charges each increase
to the Python stack of the line that just ran. Only then: line tracing slows the unit down.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import types
from collections import Counter
from collections.abc import Callable
from typing import Any

from memhound._leaks._model import Frame

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

Measure = Callable[[], int]


class _MallInfo2(ctypes.Structure):
    """glibc's struct mallinfo2 (2.33+): byte counts of the allocator, all arenas."""

    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd",
            "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
        )
    ]  # fmt: skip


def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    try:
        function = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None  # not glibc, or older than 2.33
    function.restype = _MallInfo2
    function.argtypes = []
    return function


_MALLINFO2 = _mallinfo2()


def malloc_in_use() -> int:
    """Bytes the C library's malloc has handed out and not taken back; -1 where unknown."""
    if _MALLINFO2 is None:
        return -1
    info = _MALLINFO2()
    return int(info.uordblks + info.hblkhd)


def python_stack(frame: types.FrameType | None, line: int) -> tuple[Frame, ...]:
    """The Python stack from `frame` (at `line`) outwards, innermost first, stopping at
    memhound's own frames."""
    frames: list[Frame] = []
    while frame is not None and not frame.f_code.co_filename.startswith(PACKAGE_DIR + os.sep):
        code = frame.f_code
        frames.append(Frame(code.co_filename, line, code.co_qualname))
        frame = frame.f_back
        line = frame.f_lineno if frame is not None else 0
    return tuple(frames)


def locate_growth(
    unit: Callable[[int], None], first: int, runs: int, measure: Measure
) -> list[Frame]:
    """The stack whose lines increased `measure` the most over `runs` calls of `unit`, or []."""
    charged: Counter[tuple[Frame, ...]] = Counter()
    last: dict[str, Any] = {"frame": None, "line": 0}

    def trace(frame: types.FrameType, event: str, arg: Any) -> Any:
        grown = measure() - last["value"]
        if grown > 0 and last["frame"] is not None:
            stack = python_stack(last["frame"], last["line"])
            if stack:
                charged[stack] += grown
        last.update(frame=frame, line=frame.f_lineno, value=measure())
        return trace

    last["value"] = measure()
    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        for iteration in range(first, first + runs):
            unit(iteration)
    finally:
        sys.settrace(previous)
    return list(charged.most_common(1)[0][0]) if charged else []
