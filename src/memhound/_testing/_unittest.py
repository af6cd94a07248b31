"""Leak checks of a unittest suite without pytest: `memhound unittest [unittest's arguments]`.

unittest loads and runs the suite as `python -m unittest` would (discovery, module names, -k,
-v, -f, ...), with a result class that checks every test that passed: check_leaks repeats a
fresh instance of the test (its setUp, the test method with its subtests, its tearDown; a doctest
case runs again as itself) into a scratch result. Class and module fixtures (setUpClass,
setUpModule) are those of the real run: the repetitions happen while the suite is inside them,
so they are set up once. A repetition that does not pass makes the test "not repeatable"; a leak becomes the test's failure.
"""

from __future__ import annotations

import inspect
import sys
import time
import unittest
from collections.abc import Sequence
from dataclasses import dataclass

from memhound._errors import LeakError, MemhoundError
from memhound._leaks._defaults import DEFAULT_BUDGET_S
from memhound._testing._schedule import Repetitions, screened_check
from memhound._testing._verdict import (
    CLEAN,
    LEAKING,
    NOT_REPEATABLE,
    Tally,
    Verdict,
    not_checked,
)


@dataclass(frozen=True)
class UnittestOptions:
    iterations: int
    warmup: int
    strict: bool = False
    json_path: str | None = None
    max_seconds: float = 1.0  # a test whose run takes longer is not checked
    budget: float = DEFAULT_BUDGET_S  # seconds for more rounds when the evidence is ambiguous


class NotRepeatable(MemhoundError):
    """A repetition of the test did not pass."""


def run_suite(arguments: Sequence[str], options: UnittestOptions) -> int:
    """Runs unittest's command line with leak checks; unittest's exit code (1 on any failure,
    a leak included), after the summary line."""
    tally = Tally()
    result_class = _result_class(tally, options)
    runner = unittest.TextTestRunner(resultclass=result_class)
    program = unittest.main(
        module=None, argv=["memhound unittest", *arguments], testRunner=runner, exit=False
    )
    print(tally.summary_line(), file=sys.stderr)
    for line in tally.listed(NOT_REPEATABLE):
        print(f"not repeatable: {line}", file=sys.stderr)
    if options.json_path:
        tally.write_json(options.json_path)
    result = program.result
    return 0 if result.wasSuccessful() else 1


def _result_class(tally: Tally, options: UnittestOptions) -> type[unittest.TextTestResult]:
    class LeakCheckingResult(unittest.TextTestResult):
        def stopTest(self, test: unittest.TestCase) -> None:
            seconds = time.perf_counter() - self._started
            verdict, text = _check(test, self._outcome_of(test, seconds), options, seconds)
            tally.add(verdict)
            failing = verdict.status == LEAKING or (
                options.strict and verdict.status == NOT_REPEATABLE
            )
            if failing:
                message = text or f"the test is not repeatable (first failure: {verdict.reason})"
                self.addFailure(test, (LeakError, LeakError(message, None), None))
            super().stopTest(test)

        def startTest(self, test: unittest.TestCase) -> None:
            self._counts = self._tallies()
            self._started = time.perf_counter()
            super().startTest(test)

        def _tallies(self) -> tuple[int, ...]:
            lists = (self.failures, self.errors, self.skipped, self.expectedFailures)
            return (*(len(items) for items in lists), len(self.unexpectedSuccesses))

        def _outcome_of(self, test: unittest.TestCase, seconds: float) -> str | None:
            """Why the real run rules out a check ('failed', 'skipped', 'xfail'), or None."""
            grown = [now - before for now, before in zip(self._tallies(), self._counts)]
            failed, errored, skipped, xfailed, xpassed = grown
            if failed or errored:
                return "failed"
            if skipped:
                return "skipped"
            if xfailed or xpassed:
                return "xfail"
            if seconds > options.max_seconds:
                return f"slow: {seconds:.1f} s per run (over --max-seconds)"
            return None

    return LeakCheckingResult


def _check(
    test: unittest.TestCase, outcome: str | None, options: UnittestOptions, seconds: float
) -> tuple[Verdict, str | None]:
    name = test.id()
    if outcome is not None:
        return not_checked(name, outcome), None
    if not isinstance(test, unittest.TestCase):
        return not_checked(name, "not a TestCase"), None
    started = time.perf_counter()
    try:
        repetitions = Repetitions(options.iterations, options.warmup, options.budget)
        report = screened_check(lambda: _run_again(test), name, repetitions, seconds)
    except NotRepeatable as exc:
        return Verdict(name, NOT_REPEATABLE, str(exc), time.perf_counter() - started), None
    except Exception as exc:  # noqa: BLE001 - the check's own failure must not end the suite
        return not_checked(name, f"error: {type(exc).__name__}: {exc}"), None
    status = LEAKING if report.leaked else CLEAN
    verdict = Verdict(name, status, None, time.perf_counter() - started, report.to_json())
    return verdict, str(report) if report.leaked else None


def _run_again(test: unittest.TestCase) -> None:
    """The test run again into a scratch result (no output)."""
    scratch = unittest.TestResult()
    _fresh(test).run(scratch)
    failure = _first_failure(scratch)
    if failure is not None:
        raise NotRepeatable(failure)


def _fresh(test: unittest.TestCase) -> unittest.TestCase:
    """A new instance of a test class built from a method name; the same instance for cases
    built from something else (a doctest's DocTestCase, a FunctionTestCase), which are made to
    be run again: their tearDown restores what the run changed (a doctest's globals)."""
    init = type(test).__init__
    if init is unittest.TestCase.__init__ or _takes_method_name(init):
        return type(test)(test._testMethodName)
    return test


def _takes_method_name(init: object) -> bool:
    try:
        parameters = list(inspect.signature(init).parameters)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return parameters[1:2] == ["methodName"]


def _first_failure(result: unittest.TestResult) -> str | None:
    for label, entries in (("failed", result.failures), ("error", result.errors)):
        if entries:
            lines = [line for line in entries[0][1].strip().splitlines() if line.strip()]
            return f"{label}: {lines[-1].strip() if lines else '(no message)'}"
    if result.skipped:
        return f"skipped: {result.skipped[0][1]}"
    return None
