"""How often a test is repeated for its leak check (the pytest plugin and `memhound unittest`).

Two rules keep a checked suite within a small multiple of its plain run:

- a screen first: SCREEN_ITERATIONS traced repetitions. A leak grows at every checkpoint, so a
  short run shows it as well as a long one; only a test whose screen shows growth is run again
  with the full iterations, whose verdict is the one reported (caches still filling settle
  there). CPython's `regrtest -R 3:3` makes the same bet with six runs.
- a time budget: a test whose repetitions would take longer than REPEAT_BUDGET_S gets fewer
  iterations (never fewer than the detector needs) and a single warm-up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from memhound._leaks._defaults import DEFAULT_BUDGET_S
from memhound._leaks._detect import MIN_ITERATIONS, check_leaks
from memhound._leaks._model import LeakReport
from memhound._testing._residue import is_residue_stack, without_residue

SCREEN_ITERATIONS = 8
# A check aims to repeat a test for at most this long; slower tests get fewer iterations.
REPEAT_BUDGET_S = 5.0
FEWEST_ITERATIONS = MIN_ITERATIONS + 2


@dataclass(frozen=True)
class Repetitions:
    iterations: int
    warmup: int
    budget: float = DEFAULT_BUDGET_S  # seconds for more rounds when the evidence is ambiguous
    min_bytes: float | None = None

    def fitted_to(self, seconds_per_run: float) -> Repetitions:
        """Fewer iterations (and one warm-up) when the repetitions would exceed the budget."""
        if seconds_per_run * (self.iterations + self.warmup) <= REPEAT_BUDGET_S:
            return self
        fitting = int(REPEAT_BUDGET_S / max(seconds_per_run, 1e-9)) - 1
        iterations = max(FEWEST_ITERATIONS, min(self.iterations, fitting))
        return Repetitions(iterations, min(self.warmup, 1), self.budget, self.min_bytes)


def screened_check(
    run: Callable[[], None], name: str, repetitions: Repetitions, seconds_per_run: float
) -> LeakReport:
    """The leak check of one test: a screen, then the full check if the screen saw growth.
    The framework's residue is left out of the report."""
    fitted = repetitions.fitted_to(seconds_per_run)
    screen = min(SCREEN_ITERATIONS, fitted.iterations)
    report = without_residue(check_leaks(run, name=name, **_arguments(fitted, screen)))
    if screen == fitted.iterations or not report.leaked:
        return report
    full = _arguments(fitted, fitted.iterations) | {"warmup": 0}  # warm already
    return without_residue(check_leaks(run, name=name, **full))


def _arguments(repetitions: Repetitions, iterations: int) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "residue": is_residue_stack,
        "iterations": iterations,
        "warmup": repetitions.warmup,
        "budget": repetitions.budget,
    }
    if repetitions.min_bytes is not None:
        arguments["min_bytes"] = repetitions.min_bytes
    return arguments
