"""memhound's pytest plugin (registered through the `pytest11` entry point).

Markers:
    @pytest.mark.no_leaks(iterations=20, warmup=3, min_bytes=64, budget="10s")
        repeats the test's whole protocol (setup, call, teardown) and fails the test with the
        leaks found (kinds, site, path); `budget` bounds the extra rounds run when growth into
        a cache might stop at a limit.
    @pytest.mark.memhound_skip(reason)
        leaves the test out of --memhound-leaks.
    @pytest.mark.limit_memory("24 MB", native=False)
        fails a test whose traced peak (memory allocated during the test and live at once)
        exceeds the limit; native=True counts the C allocator's memory too (malloc, mmap).
    @pytest.mark.limit_leaks("1 MB", warmup=0, native=False)
        fails a test that leaves more than the limit allocated when it returns (after a
        collection), after `warmup` untraced calls that fill caches.
    A leak check (no_leaks, --memhound-leaks) always traces the C allocator too.
Options:
    --memhound-leaks            checks every test as if it were marked no_leaks
    --memhound-iterations N     iterations of a check whose 8-run screen grew (fewer for slow tests)
    --memhound-max-seconds S    tests whose run takes longer are left out (default 1)
    --memhound-budget TIME      time for extra rounds when the evidence is ambiguous (10s)
    --memhound-leaks-strict     a test that fails when repeated fails the run
    --memhound-leaks-json PATH  every test's verdict, with its leaks in `memhound leaks`' schema

A leak check takes over the test's run protocol (see memhound._testing._pytest_item), so
function-scoped fixtures are set up and torn down around every repetition, and any test style
that pytest runs is checked: functions, classes, unittest.TestCase, async tests through their
plugin. Under pytest-xdist each worker checks its own tests; their verdicts travel to the
controller in the reports, which prints the summary and writes the JSON file.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Generator
from typing import Any

import pytest

from memhound._leaks._defaults import DEFAULT_BUDGET_S, parse_seconds, seconds_argument
from memhound._leaks._limits import parse_size, traced_leftover, traced_peak
from memhound._testing._verdict import PROPERTY, Tally, Verdict

DEFAULT_ITERATIONS = 20
DEFAULT_WARMUP = 3
DEFAULT_MAX_SECONDS = 1.0
MARKERS = (
    (
        "no_leaks(iterations=20, warmup=3, min_bytes=64, budget='10s'): repeat the test "
        "(fixtures included) "
        "with memhound and fail if memory or resources grow at every iteration"
    ),
    "memhound_skip(reason): leave the test out of memhound's leak checks",
    (
        "limit_memory(limit, native=False): fail if the traced peak of the test exceeds limit "
        "(e.g. '24 MB'); native=True counts malloc and mmap memory too"
    ),
    (
        "limit_leaks(limit, warmup=0, native=False): fail if the test leaves more than limit "
        "allocated; native=True counts malloc and mmap memory too"
    ),
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
        help=f"iterations of a leak check whose first 8 repetitions grew (default "
        f"{DEFAULT_ITERATIONS}; fewer for tests whose repetitions would take over 5 s)",
    )
    group.addoption(
        "--memhound-max-seconds",
        type=float,
        default=DEFAULT_MAX_SECONDS,
        metavar="S",
        help="with --memhound-leaks, leave out tests whose run takes longer than S seconds "
        f"(default {DEFAULT_MAX_SECONDS:g}; a no_leaks marker checks its test whatever it takes)",
    )
    group.addoption(
        "--memhound-budget",
        type=seconds_argument,
        default=DEFAULT_BUDGET_S,
        metavar="TIME",
        help="time a leak check may spend on more iterations when its evidence is ambiguous "
        f"(growth into a cache that may stop at a limit; default {DEFAULT_BUDGET_S:g}s)",
    )
    group.addoption(
        "--memhound-leaks-strict",
        action="store_true",
        default=False,
        help="fail a test that fails, errors or is skipped when it is repeated (by default it "
        "is reported as not repeatable and keeps its own outcome)",
    )
    group.addoption(
        "--memhound-leaks-json",
        metavar="PATH",
        default=None,
        help="write every test's leak-check verdict to PATH as JSON",
    )


def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    config.pluginmanager.register(LeakSession(config), "memhound-leak-session")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    options = _leak_check_options(item)
    if options is None:
        return None  # pytest's own protocol
    from memhound._testing._pytest_item import run_checked

    run_checked(item, nextitem, options)
    return True


def _leak_check_options(item: pytest.Item) -> Any:
    """The check's options, or None when the test is not leak-checked."""
    marker = item.get_closest_marker("no_leaks")
    if marker is None and not item.config.getoption("memhound_leaks"):
        return None
    from memhound._testing._pytest_item import CheckOptions

    strict = bool(item.config.getoption("memhound_leaks_strict"))
    skip = item.get_closest_marker("memhound_skip")
    skip_reason = None
    if skip is not None:
        why = skip.args[0] if skip.args else skip.kwargs.get("reason")
        skip_reason = "marker memhound_skip" + (f": {why}" if why else "")
    budget = item.config.getoption("memhound_budget")
    if marker is not None:
        kwargs = {
            "iterations": DEFAULT_ITERATIONS,
            "warmup": DEFAULT_WARMUP,
            **marker.kwargs,
            "budget": parse_seconds(marker.kwargs.get("budget", budget)),
        }
        return CheckOptions(strict=strict, skip_reason=skip_reason, **kwargs)
    iterations = item.config.getoption("memhound_iterations")
    max_seconds = item.config.getoption("memhound_max_seconds")
    return CheckOptions(
        iterations, DEFAULT_WARMUP, None, strict, skip_reason, max_seconds, budget=budget
    )


class LeakSession:
    """The session's verdicts: gathered from the reports (a pytest-xdist controller gets its
    workers' reports too), summed up at the end and written to --memhound-leaks-json."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.tally = Tally()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == PROPERTY:
                self.tally.add(Verdict.from_json(value))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.tally.verdicts:
            return
        terminalreporter.section("memhound leaks")
        for line in self.tally.listed("not_repeatable"):
            terminalreporter.write_line(f"not repeatable: {line}")
        terminalreporter.write_line(self.tally.summary_line())

    def pytest_sessionfinish(self) -> None:
        path = self.config.getoption("memhound_leaks_json")
        if path and not hasattr(self.config, "workerinput"):
            self.tally.write_json(path)


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, None, None]:
    checks = _limit_checks_for(pyfuncitem)
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


def _limit_checks_for(item: pytest.Function) -> list[Check]:
    checks: list[Check] = []
    for marker in item.iter_markers("limit_memory"):
        checks.append(_limit_memory_check(*marker.args, **marker.kwargs))
    for marker in item.iter_markers("limit_leaks"):
        checks.append(_limit_leaks_check(*marker.args, **marker.kwargs))
    return checks


def _limit_memory_check(limit: str | int, native: bool = False) -> Check:
    size = parse_size(limit)

    def check(body: Callable[[], Any]) -> None:
        use = traced_peak(body, native=native)
        if use.total > size:
            pytest.fail(use.describe("the test's traced peak was", size), pytrace=False)

    return check


def _limit_leaks_check(limit: str | int, warmup: int = 0, native: bool = False) -> Check:
    size = parse_size(limit)

    def check(body: Callable[[], Any]) -> None:
        for _ in range(warmup):
            body()
        use = traced_leftover(body, native=native)
        if use.total > size:
            pytest.fail(use.describe("the test left allocated", size), pytrace=False)

    return check
