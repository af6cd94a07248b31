"""Which functions are profiled, and the event source of line profiling: sys.monitoring on
CPython 3.12+ (memhound._lines._monitoring), sys.settrace on 3.11, in the threads that run a
profiled function.

The global trace function sees every call in a traced thread; it answers with the local tracer
only for the code of profiled functions (a code object registered by `memhound.profile`, or a
function named on `memhound lines`' command line, matched when its first frame starts), so other
frames get no line events. A call event on a frame already known is a generator or coroutine
resuming; a return event is a return, a yield or an exception leaving the frame.
"""

from __future__ import annotations

import dis
import sys
import threading
from types import FrameType
from typing import Any

from memhound._errors import UsageError
from memhound._lines import _monitoring
from memhound._lines._engine import (
    ENGINE,
    FunctionStats,
    generator_like,
    read_counters,
    resume_counting,
)


class _NameTarget:
    """A function named on the command line: code objects match by file and qualified name."""

    def __init__(self, filename: str, qualname: str, threads: str) -> None:
        self.filename = filename
        self.qualname = qualname
        self.threads = threads
        self.matched: list[FunctionStats] = []


_profiled: dict[object, FunctionStats] = {}  # code -> figures (read without the lock)
_unmatched: dict[tuple[str, str], _NameTarget] = {}
_seen: set[object] = set()  # codes already checked against the name targets
_bytecode: dict[object, bytes] = {}  # generator-like code -> its instructions
# A return event at one of these instructions is a yield (3.13 reports the RESUME after it).
_YIELDING = frozenset({dis.opmap["YIELD_VALUE"], dis.opmap["RESUME"]})
_local = threading.local()  # per thread: depth (enable calls), previous (the trace replaced)


def register(code: object, threads: str) -> FunctionStats:
    stats = ENGINE.profile(code, threads)
    if stats.threads != threads:
        raise UsageError(f"{stats.name} is already profiled with threads={stats.threads!r}")
    _profiled[code] = stats
    if _monitoring.available():
        _monitoring.instrument(code)
    return stats


def profiled(code: object) -> FunctionStats | None:
    return _profiled.get(code)


def register_name(filename: str, qualname: str, threads: str) -> _NameTarget:
    target = _NameTarget(filename, qualname, threads)
    _unmatched[(filename, qualname)] = target
    return target


def enable() -> None:
    """Events for the profiled functions (nested: until the matching disable); with settrace,
    in the calling thread."""
    if _monitoring.available():
        return _monitoring.enable()
    depth = getattr(_local, "depth", 0)
    if depth == 0:
        _local.previous = sys.gettrace()
        sys.settrace(global_trace)
    _local.depth = depth + 1


def disable() -> None:
    if _monitoring.available():
        return _monitoring.disable()
    depth = getattr(_local, "depth", 0)
    if depth == 0:
        return
    _local.depth = depth - 1
    if depth == 1:
        sys.settrace(_local.previous)
        _local.previous = None


def enable_program() -> None:
    """Events for the whole program, every thread, the named functions matched when they start."""
    if _monitoring.available():
        return _monitoring.enable(names=True)
    threading.settrace(global_trace)
    return enable()


def disable_program() -> None:
    if _monitoring.available():
        return _monitoring.disable()
    disable()
    threading.settrace(None)  # type: ignore[arg-type]
    return None


def global_trace(frame: FrameType, event: str, arg: Any) -> Any:
    if event != "call":
        return None
    code = frame.f_code
    stats = _profiled.get(code)
    if stats is None:
        if not _unmatched or code in _seen:
            return None
        stats = match_name(code)
        if stats is None:
            return None
    counters = read_counters()
    try:
        if not ENGINE.resume(frame, counters):
            ENGINE.start(frame, stats, counters)
    finally:
        resume_counting()
    return _local_trace


def match_name(code: Any) -> FunctionStats | None:
    """The figures of a code named on the command line (registered now), or None."""
    if not _unmatched or code in _seen:
        return None
    _seen.add(code)
    target = _unmatched.get((code.co_filename, getattr(code, "co_qualname", code.co_name)))
    if target is None:
        return None
    stats = register(code, target.threads)
    target.matched.append(stats)
    return stats


def _local_trace(frame: FrameType, event: str, arg: Any) -> Any:
    counters = read_counters()  # first: what follows is the profiler's own work
    try:
        if event == "line":
            ENGINE.line(frame, frame.f_lineno, counters)
        elif event == "return":
            ENGINE.pause(frame, not _suspends(frame), counters)
    finally:
        resume_counting()
    return _local_trace


def _suspends(frame: FrameType) -> bool:
    """Whether a return event is a generator or coroutine yielding (it will resume)."""
    code = frame.f_code
    if not generator_like(code):
        return False
    instructions = _bytecode.get(code)
    if instructions is None:
        instructions = _bytecode[code] = code.co_code
    return instructions[frame.f_lasti] in _YIELDING
