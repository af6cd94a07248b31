"""memhound's pytest plugin (registered through the `pytest11` entry point).

Markers:
    @pytest.mark.no_leaks(iterations=20, warmup=3, min_bytes=64)
        repeats the test body and fails with the leaks found (kinds, site, path).
    @pytest.mark.limit_memory("24 MB")
        fails a test whose traced peak (memory allocated during the test and live at once)
        exceeds the limit.
    @pytest.mark.limit_leaks("1 MB", warmup=0)
        fails a test that leaves more than the limit allocated when it returns (after a
        collection), after `warmup` untraced calls that fill caches.
Option:
    --memhound-leaks   checks every test as if it were marked no_leaks.

Only the test body is repeated: fixtures are set up once, as usual. The plugin replaces the test
function with a checking wrapper for the duration of the call, so it works with any fixture and
with pytest-xdist (each worker checks its own tests). Coroutine tests are left to their plugin.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator
from typing import Any

import pytest

from memhound._leaks._detect import check_leaks
from memhound._leaks._limits import parse_size, traced_leftover, traced_peak

DEFAULT_ITERATIONS = 20
DEFAULT_WARMUP = 3
MARKERS = (
    (
        "no_leaks(iterations=20, warmup=3, min_bytes=64): repeat the test body with memhound "
        "and fail if memory or resources grow at every iteration"
    ),
    "limit_memory(limit): fail if the traced peak of the test exceeds limit (e.g. '24 MB')",
    "limit_leaks(limit, warmup=0): fail if the test leaves more than limit allocated",
)

Check = Callable[[Callable[[], Any]], None]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memhound", "memhound memory checks")
    group.addoption(
        "--memhound-leaks",
        action="store_true",
        default=False,
        help="check every test for leaks, as if marked @pytest.mark.no_leaks",
    )
    group.addoption(
        "--memhound-iterations",
        type=int,
        default=DEFAULT_ITERATIONS,
        help=f"iterations of each leak check (default {DEFAULT_ITERATIONS})",
    )


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, None, None]:
    checks = _checks_for(pyfuncitem)
    original = pyfuncitem.obj
    if not checks or inspect.iscoroutinefunction(original):
        yield
        return

    @functools.wraps(original)
    def checked(*args: Any, **kwargs: Any) -> None:
        body = functools.partial(original, *args, **kwargs)
        for check in checks:
            check(body)

    pyfuncitem.obj = checked
    try:
        yield
    finally:
        pyfuncitem.obj = original


def _checks_for(item: pytest.Function) -> list[Check]:
    checks: list[Check] = []
    for marker in item.iter_markers("limit_memory"):
        checks.append(_limit_memory_check(*marker.args, **marker.kwargs))
    for marker in item.iter_markers("limit_leaks"):
        checks.append(_limit_leaks_check(*marker.args, **marker.kwargs))
    marker = item.get_closest_marker("no_leaks")
    if marker is not None:
        checks.append(_no_leaks_check(item.nodeid, **marker.kwargs))
    elif item.config.getoption("memhound_leaks"):
        iterations = item.config.getoption("memhound_iterations")
        checks.append(_no_leaks_check(item.nodeid, iterations=iterations))
    return checks


def _no_leaks_check(
    name: str,
    iterations: int = DEFAULT_ITERATIONS,
    warmup: int = DEFAULT_WARMUP,
    min_bytes: float | None = None,
) -> Check:
    options: dict[str, Any] = {"iterations": iterations, "warmup": warmup}
    if min_bytes is not None:
        options["min_bytes"] = min_bytes

    def check(body: Callable[[], Any]) -> None:
        report = check_leaks(body, name=name, **options)
        if report.leaked:
            pytest.fail(str(report), pytrace=False)

    return check


def _limit_memory_check(limit: str | int) -> Check:
    size = parse_size(limit)

    def check(body: Callable[[], Any]) -> None:
        use = traced_peak(body)
        if use.total > size:
            pytest.fail(use.describe("the test's traced peak was", size), pytrace=False)

    return check


def _limit_leaks_check(limit: str | int, warmup: int = 0) -> Check:
    size = parse_size(limit)

    def check(body: Callable[[], Any]) -> None:
        for _ in range(warmup):
            body()
        use = traced_leftover(body)
        if use.total > size:
            pytest.fail(use.describe("the test left allocated", size), pytrace=False)

    return check
