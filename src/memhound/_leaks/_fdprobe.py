"""Where were the leaked file descriptors opened? (for fds with no Python object to trace)

A file object, socket or connection is a Python object whose allocation stack the tracer
records. A bare descriptor (os.open, os.pipe, os.dup, a detached socket) is only an int: no
allocation says where it came from. When the fd count grows with no such object to explain it,
the detector runs the unit a few more times under a profile hook that watches calls of
module-level C functions (os.open, os.pipe, _socket.socketpair, ...) and notes the Python stack
of every call after which more descriptors are open. Only then: the hook slows the unit down.
"""

from __future__ import annotations

import os
import sys
import types
from collections import Counter
from collections.abc import Callable
from typing import Any

from memhound._leaks._model import Frame
from memhound._leaks._resources import count_fds

PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python_stack(frame: types.FrameType | None) -> tuple[Frame, ...]:
    """The Python stack from `frame` outwards, innermost first, stopping at memhound's frames."""
    frames: list[Frame] = []
    while frame is not None and not frame.f_code.co_filename.startswith(PACKAGE_DIR + os.sep):
        code = frame.f_code
        frames.append(Frame(code.co_filename, frame.f_lineno, code.co_qualname))
        frame = frame.f_back
    return tuple(frames)


def _is_module_function(function: object) -> bool:
    return isinstance(function, types.BuiltinFunctionType) and isinstance(
        function.__self__, types.ModuleType
    )


def locate_fd_openers(unit: Callable[[int], None], first: int, runs: int) -> list[Frame]:
    """The stack that opened the most descriptors over `runs` calls of `unit`, or []."""
    openers: Counter[tuple[Frame, ...]] = Counter()
    open_before: list[int] = []

    def profile(frame: types.FrameType, event: str, arg: Any) -> None:
        if not _is_module_function(arg):
            return
        if event == "c_call":
            open_before.append(count_fds())
        elif event in ("c_return", "c_exception") and open_before:
            opened = count_fds() > open_before.pop()
            if opened and event == "c_return":
                openers[python_stack(frame)] += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        for iteration in range(first, first + runs):
            unit(iteration)
    finally:
        sys.setprofile(previous)
    if not openers:
        return []
    return list(openers.most_common(1)[0][0])
