"""A pytest item's leak check: its whole protocol, run again and again.

Each repetition is what pytest does for a test, less the teardown of wider scopes: the setup
(function-scoped and autouse fixtures, `setup_method`, a TestCase's `setUp`), the call, the
teardown down to the item's parent. Fixtures of wider scope (class, module, session) are set up
by the first, real run and stay until the item's real teardown at the end, so they exist once,
before the warm-up. What survives a repetition's teardown and grows at every checkpoint is a
leak. The order:

1. the real run (its reports are held back, not logged yet), teardown down to the parent;
2. unless it failed, was skipped or xfailed: check_leaks over repetitions of the same protocol
   (a short screen first, see _schedule);
   a repetition that fails makes the test "not repeatable" and ends the check;
3. the teardown of what the next item does not share (module, class fixtures);
4. the real run's reports are logged, the call report failing when the test leaks (or, with
   --memhound-leaks-strict, when it is not repeatable).

A repetition leaves no residue in pytest's own objects: the item's report sections (captured
output) and user properties are cut back to the real run's, and its warnings are recorded into
a list of its own that is dropped.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from _pytest.runner import CallInfo, runtestprotocol

from memhound._errors import MemhoundError
from memhound._leaks._defaults import DEFAULT_BUDGET_S
from memhound._testing._schedule import Repetitions, screened_check
from memhound._testing._verdict import (
    CLEAN,
    LEAKING,
    NOT_REPEATABLE,
    PROPERTY,
    Verdict,
    not_checked,
)


class NotRepeatable(MemhoundError):
    """A repetition of the test did not pass: the first failure, in one line."""


@dataclass(frozen=True)
class CheckOptions:
    iterations: int
    warmup: int
    min_bytes: float | None = None
    strict: bool = False
    skip_reason: str | None = None  # why the test is left out (a memhound_skip marker)
    max_seconds: float | None = None  # a test whose run takes longer is not checked
    budget: float = DEFAULT_BUDGET_S  # seconds for more rounds when the evidence is ambiguous

    def too_slow(self, seconds_per_run: float) -> str | None:
        if self.max_seconds is None or seconds_per_run <= self.max_seconds:
            return None
        return f"slow: {seconds_per_run:.1f} s per run (over --memhound-max-seconds)"

    @property
    def repetitions(self) -> Repetitions:
        return Repetitions(self.iterations, self.warmup, self.budget, self.min_bytes)


def run_checked(item: pytest.Item, nextitem: pytest.Item | None, options: CheckOptions) -> None:
    """The whole protocol of `item` with its leak check; the reports logged as pytest would."""
    ihook = item.ihook
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    repeat = ProtocolRun(item)
    reports = repeat.first()
    verdict, leak_text = _verdict(item, reports, repeat, options)
    reports = _with_final_teardown(item, nextitem, reports)
    _attach(reports, verdict, leak_text, options.strict)
    for report in reports:
        ihook.pytest_runtest_logreport(report=report)
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)


class ProtocolRun:
    """Runs the item's protocol down to its parent, leaving pytest's state as it found it."""

    def __init__(self, item: pytest.Item) -> None:
        self.item = item
        self.sections = 0
        self.properties = 0

    def first(self) -> list[pytest.TestReport]:
        reports = self._run()
        self.sections = len(self.item._report_sections)
        self.properties = len(self.item.user_properties)
        return reports

    def again(self) -> None:
        with warnings.catch_warnings(record=True), _quiet_reports(self.item):
            reports = self._run()
        del self.item._report_sections[self.sections :]
        del self.item.user_properties[self.properties :]
        failure = first_failure(reports)
        if failure is not None:
            raise NotRepeatable(failure)

    def _run(self) -> list[pytest.TestReport]:
        return runtestprotocol(self.item, log=False, nextitem=self.item.parent)


class _QuietHooks:
    """An item's hook relay that drops report logging: the reports a repetition makes itself
    (a TestCase's subtests) reach neither the terminal nor the result files."""

    SILENT = frozenset(
        {"pytest_runtest_logreport", "pytest_runtest_logstart", "pytest_runtest_logfinish"}
    )

    def __init__(self, hooks: Any) -> None:
        self._hooks = hooks

    def __getattr__(self, name: str) -> Any:
        if name in self.SILENT:
            return _ignore
        return getattr(self._hooks, name)


def _ignore(**_kwargs: Any) -> None:
    return None


@contextlib.contextmanager
def _quiet_reports(item: pytest.Item) -> Iterator[None]:
    session = item.session
    loud = session.gethookproxy
    session.gethookproxy = lambda path: _QuietHooks(loud(path))  # type: ignore[method-assign]
    try:
        yield
    finally:
        del session.gethookproxy


def first_failure(reports: list[pytest.TestReport]) -> str | None:
    """Why a run did not pass, in one line: `call failed: AssertionError: ...`; None if it did."""
    for report in reports:
        if report.failed or report.skipped:
            outcome = "failed" if report.failed else "skipped"
            return f"{report.when} {outcome}: {_one_line(report)}"
    return None


def _one_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = crash.message if crash is not None else str(report.longrepr or "")
    lines = [line for line in message.splitlines() if line.strip()]
    return lines[0].strip() if lines else "(no message)"


def _verdict(
    item: pytest.Item,
    reports: list[pytest.TestReport],
    repeat: ProtocolRun,
    options: CheckOptions,
) -> tuple[Verdict, str | None]:
    """The verdict, and the leak report's text when the test leaks."""
    seconds_per_run = sum(report.duration for report in reports)
    unchecked = options.skip_reason or _why_unchecked(reports) or options.too_slow(seconds_per_run)
    if unchecked is not None:
        return not_checked(item.nodeid, unchecked), None
    started = time.perf_counter()
    try:
        report = screened_check(repeat.again, item.nodeid, options.repetitions, seconds_per_run)
    except NotRepeatable as exc:
        elapsed = time.perf_counter() - started
        return Verdict(item.nodeid, NOT_REPEATABLE, str(exc), elapsed), None
    except Exception as exc:  # noqa: BLE001 - the check's own failure must not end the session
        return not_checked(item.nodeid, f"error: {type(exc).__name__}: {exc}"), None
    status = LEAKING if report.leaked else CLEAN
    elapsed = time.perf_counter() - started
    verdict = Verdict(item.nodeid, status, None, elapsed, report.to_json())
    return verdict, str(report) if report.leaked else None


def _why_unchecked(reports: list[pytest.TestReport]) -> str | None:
    if any(hasattr(report, "wasxfail") for report in reports):
        return "xfail"
    if any(report.skipped for report in reports):
        return "skipped"
    failure = first_failure(reports)
    return f"failed: {failure}" if failure is not None else None


def _with_final_teardown(
    item: pytest.Item, nextitem: pytest.Item | None, reports: list[pytest.TestReport]
) -> list[pytest.TestReport]:
    """Tears down what `nextitem` does not share; an error there becomes the teardown report."""
    setup_state = item.session._setupstate
    call: CallInfo[None] = CallInfo.from_call(
        lambda: setup_state.teardown_exact(nextitem), when="teardown"
    )
    if call.excinfo is None or reports[-1].failed:
        return reports
    return [*reports[:-1], item.ihook.pytest_runtest_makereport(item=item, call=call)]


def _attach(
    reports: list[pytest.TestReport], verdict: Verdict, leak_text: str | None, strict: bool
) -> None:
    """Puts the verdict on the call report (the setup report if there was no call), failing it
    when the test leaks, or is not repeatable under strict checking."""
    target = next((r for r in reports if r.when == "call"), reports[0])
    target.user_properties.append((PROPERTY, verdict.to_json()))
    failing = verdict.status == LEAKING or (strict and verdict.status == NOT_REPEATABLE)
    if failing and target.passed:
        target.outcome = "failed"
        target.longrepr = leak_text or (
            f"memhound: the test is not repeatable (first failure: {verdict.reason})"
        )
