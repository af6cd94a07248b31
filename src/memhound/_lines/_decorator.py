"""`memhound.profile`: measure a function line by line (what memory_profiler's @profile is used for)."""

from __future__ import annotations

import atexit
import functools
import inspect
import sys
from collections.abc import Callable
from typing import IO, Any, TypeVar

from memhound import _core
from memhound._errors import UsageError
from memhound._lines import _trace
from memhound._lines._engine import (
    ALL_THREADS,
    ENGINE,
    OWN_THREAD,
    FunctionStats,
    read_counters,
    resume_counting,
)
from memhound._lines._report import function_report, render_function

F = TypeVar("F", bound=Callable[..., Any])

_at_exit: list[tuple[FunctionStats, IO[str] | None]] = []


def profile(
    func: F | None = None,
    *,
    threads: str = OWN_THREAD,
    at_exit: bool = True,
    stream: IO[str] | None = None,
) -> Any:
    """Measures the decorated function line by line: for each line, the bytes allocated, freed and
    kept (net) while it ran, callees included, and the peak the function's memory reached on it.

    `threads="own"` counts the allocations of the thread that runs the function; `"all"` counts
    every thread's while the function runs. A coroutine or generator owns nothing while suspended.
    The figures add up over every call; the table is printed when the interpreter exits (to
    `stream`, default stdout) unless `at_exit=False`. `wrapper.line_report()` returns them as data.
    """
    if threads not in (OWN_THREAD, ALL_THREADS):
        raise UsageError(f"profile(threads=...): expected 'own' or 'all', got {threads!r}")
    if func is None:
        return lambda f: _decorate(f, threads, at_exit, stream)
    return _decorate(func, threads, at_exit, stream)


def _decorate(func: F, threads: str, at_exit: bool, stream: IO[str] | None) -> F:
    code = getattr(func, "__code__", None)
    if code is None:
        raise UsageError(f"memhound.profile measures Python functions, not {type(func).__name__}")
    if inspect.isasyncgenfunction(func):
        raise UsageError("memhound.profile does not measure async generator functions")
    stats = _trace.register(code, threads)
    if inspect.iscoroutinefunction(func):
        wrapper = _coroutine_wrapper(func)
    elif inspect.isgeneratorfunction(func):
        wrapper = _generator_wrapper(func)
    else:
        wrapper = _function_wrapper(func)
    wrapper.line_report = lambda: function_report(stats)  # type: ignore[attr-defined]
    if at_exit:
        if not _at_exit:
            atexit.register(_print_at_exit)
        _at_exit.append((stats, stream))
    return wrapper  # type: ignore[return-value]


def _start() -> None:
    _core.meter_start()
    _trace.enable()


def _stop() -> None:
    _trace.disable()
    _core.meter_stop()


def _finish(frame: object) -> None:
    counters = read_counters()
    try:
        ENGINE.finish(frame, counters)
    finally:
        resume_counting()


def _function_wrapper(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def profiled(*args: Any, **kwargs: Any) -> Any:
        _start()
        try:
            return func(*args, **kwargs)
        finally:
            _stop()

    return profiled


def _generator_wrapper(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def profiled(*args: Any, **kwargs: Any) -> Any:
        return _drive(func(*args, **kwargs))

    return profiled


def _drive(generator: Any) -> Any:
    frame = generator.gi_frame
    _start()
    try:
        return (yield from generator)
    finally:
        _finish(frame)
        _stop()


def _coroutine_wrapper(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    async def profiled(*args: Any, **kwargs: Any) -> Any:
        coroutine = func(*args, **kwargs)
        frame = coroutine.cr_frame
        _start()
        try:
            return await coroutine
        finally:
            _finish(frame)
            _stop()

    return profiled


def _print_at_exit() -> None:
    for stats, stream in _at_exit:
        if stats.calls:
            (stream or sys.stdout).write(render_function(function_report(stats)) + "\n")
