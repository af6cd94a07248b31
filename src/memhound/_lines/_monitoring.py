"""The event source of line profiling on CPython 3.12+: sys.monitoring (PEP 669).

Line, start, resume, return and yield events are set on the profiled code objects alone, so the
rest of the program runs without a trace call (settrace calls one at every Python call of a
traced thread), in every thread, and a debugger's or coverage's own tracing goes on. An exception
leaving a frame and a throw into one (PY_UNWIND, PY_THROW) cannot be set per code object: they
are set for the whole process while a profiled function runs, and their callback only looks the
code up. With functions named on the command line, PY_START is set for the process too, until
every name has matched; a code that is not named is disabled at its first start.
"""

from __future__ import annotations

import sys
from typing import Any

from memhound._lines import _trace
from memhound._lines._engine import ENGINE, read_counters, resume_counting

_monitoring: Any = getattr(sys, "monitoring", None)
_events: Any = getattr(_monitoring, "events", None)
_LOCAL = 0
_GLOBAL = 0
if _events is not None:
    _LOCAL = (
        _events.LINE | _events.PY_START | _events.PY_RESUME | _events.PY_RETURN | _events.PY_YIELD
    )
    _GLOBAL = _events.PY_UNWIND | _events.PY_THROW
_state = {"tool": None, "users": 0, "names": False}


def available() -> bool:
    return _monitoring is not None


def instrument(code: object) -> None:
    """Line and call events on this code object (the tool is claimed on first use)."""
    _monitoring.set_local_events(_tool(), code, _LOCAL)


def enable(names: bool = False) -> None:
    """Process-wide events on while a profiled function runs (nested); `names`: watch every
    function start for the names of the command line."""
    tool = _tool()
    _state["users"] += 1
    _state["names"] = _state["names"] or names
    _monitoring.set_events(tool, _GLOBAL | (_events.PY_START if _state["names"] else 0))


def disable() -> None:
    if _state["users"] == 0:
        return
    _state["users"] -= 1
    if _state["users"] == 0:
        _state["names"] = False
        _monitoring.set_events(_tool(), 0)


def _tool() -> int:
    if _state["tool"] is None:
        # the profiler's slot when it is free, else any free one
        for tool in (_monitoring.PROFILER_ID, 3, 4, 5, 0, 1):
            if _monitoring.get_tool(tool) is None:
                _monitoring.use_tool_id(tool, "memhound")
                break
        else:
            from memhound._errors import UsageError

            raise UsageError("every sys.monitoring tool id is taken; memhound cannot profile")
        _register_callbacks(tool)
        _state["tool"] = tool
    return _state["tool"]


def _register_callbacks(tool: int) -> None:
    register = _monitoring.register_callback
    register(tool, _events.PY_START, _on_start)
    register(tool, _events.PY_RESUME, _on_resume)
    register(tool, _events.PY_THROW, _on_resume_by_throw)
    register(tool, _events.LINE, _on_line)
    register(tool, _events.PY_RETURN, _on_return)
    register(tool, _events.PY_YIELD, _on_yield)
    register(tool, _events.PY_UNWIND, _on_unwind)


def _on_start(code: Any, offset: int) -> Any:
    stats = _trace.profiled(code)
    if stats is None:
        stats = _trace.match_name(code)
        if stats is None:
            return _monitoring.DISABLE
        instrument(code)
    counters = read_counters()
    try:
        ENGINE.start(sys._getframe(1), stats, counters)
    finally:
        resume_counting()
    return None


def _on_resume(code: Any, offset: int) -> None:
    if _trace.profiled(code) is None:
        return
    counters = read_counters()
    try:
        ENGINE.resume(sys._getframe(1), counters)
    finally:
        resume_counting()


def _on_resume_by_throw(code: Any, offset: int, exception: BaseException) -> None:
    _on_resume(code, offset)


def _on_line(code: Any, line: int) -> None:
    counters = read_counters()
    try:
        ENGINE.line(sys._getframe(1), line, counters)
    finally:
        resume_counting()


def _on_return(code: Any, offset: int, value: object) -> None:
    _pause(code, True)  # a return (a yield is PY_YIELD)


def _on_yield(code: Any, offset: int, value: object) -> None:
    _pause(code, False)


def _on_unwind(code: Any, offset: int, exception: BaseException) -> None:
    if _trace.profiled(code) is not None:
        _pause(code, True)


def _pause(code: Any, finished: bool) -> None:
    counters = read_counters()
    try:
        ENGINE.pause(sys._getframe(2), finished, counters)
    finally:
        resume_counting()
