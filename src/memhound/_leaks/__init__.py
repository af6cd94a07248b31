"""Leak hunting: repeat a unit of work, find what grows, where it was allocated, what holds it
and what kind of leak it is. Public entry points: check_leaks and assert_no_leaks (exported by
memhound), `memhound leaks` (cli/leaks.py) and the pytest plugin (pytest_plugin.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memhound._errors import LeakError
from memhound._leaks._defaults import DEFAULT_ITERATIONS, DEFAULT_MIN_BYTES, DEFAULT_WARMUP

if TYPE_CHECKING:
    from memhound._leaks._model import LeakReport

__all__ = ["assert_no_leaks", "check_leaks"]


def assert_no_leaks(
    fn: Callable[..., Any],
    iterations: int = DEFAULT_ITERATIONS,
    warmup: int = DEFAULT_WARMUP,
    min_bytes: float = DEFAULT_MIN_BYTES,
) -> LeakReport:
    """check_leaks, raising LeakError (an AssertionError) with the report when anything leaks."""
    from memhound._leaks._detect import check_leaks

    report = check_leaks(fn, iterations=iterations, warmup=warmup, min_bytes=min_bytes)
    if report.leaked:
        raise LeakError(str(report), report)
    return report


def __getattr__(name: str) -> Any:
    # The detector (snapshot, tracer, analysis) loads on first use, not with the package.
    if name == "check_leaks":
        from memhound._leaks._detect import check_leaks

        return check_leaks
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
