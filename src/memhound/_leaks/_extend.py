"""When a verdict needs more iterations: growth that might still stop.

A leak is ambiguous when its growth goes into a cache (a mapping named cache or memo) with no
bound the detector can read: a memo that evicts at a limit of its own looks exactly like an
unbounded one until the limit is reached. Growth of weak references is ambiguous too: their
owners often drop the dead ones in batches (sqlite3 prunes a connection's cursor references
every 200 cursors), so a list of them grows for a while and then shrinks.

The detector then runs more rounds, each twice the last, with the earlier calls as warm-up and
growth required at every checkpoint of the round (not only of its last third: a batch pruning
anywhere in it shows), until the growth stops (then it was a cache filling, and the verdict is
clean), it is no longer ambiguous, or the budget is spent (then it is reported, with how long
it kept growing). Rounds stop at MAX_FACTOR times the asked iterations: a cache still growing
after that many calls grows with the input, which is the leak.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from memhound._leaks._analyze import WEAK_TYPES
from memhound._leaks._kinds import short_type
from memhound._leaks._model import Leak

MAX_FACTOR = 8
_MEMO_NAME = re.compile(r"cache|memo", re.IGNORECASE)


@dataclass(frozen=True)
class Extension:
    """Why and how far a check went past the asked iterations."""

    asked: int
    rounds: tuple[int, ...]  # iterations of each round, the asked one first
    reason: str
    settled: bool  # False: the budget or MAX_FACTOR ended it while the evidence was ambiguous

    @property
    def total(self) -> int:
        return sum(self.rounds)

    def describe(self) -> str:
        rounds = " + ".join(str(size) for size in self.rounds)
        outcome = "" if self.settled else "; it still grew in the last round"
        return f"ran {self.total} iterations ({rounds}) because {self.reason}{outcome}"

    def to_json(self) -> dict[str, Any]:
        return {
            "asked": self.asked,
            "rounds": list(self.rounds),
            "reason": self.reason,
            "settled": self.settled,
        }


def ambiguity(leaks: list[Leak]) -> str | None:
    """Why the verdict might change with more iterations, or None."""
    for leak in leaks:
        if _might_stop(leak):
            return f"growth into a cache ({leak.retained_by}) might stop at a limit of its own"
        if short_type(leak.type) in WEAK_TYPES and not leak.resource:
            return f"weak references ({leak.retained_by}) may be dropped in batches by their owner"
    return None


def _might_stop(leak: Leak) -> bool:
    if "cache" not in leak.kinds or leak.resource or leak.bound is not None:
        return False
    return bool(leak.retained_by and _MEMO_NAME.search(leak.retained_by))


def next_round(
    asked: int, rounds: list[int], elapsed: float, last_duration: float, budget: float
) -> int | None:
    """Iterations of the next round (twice the last), or None when it would not fit the budget
    (estimated from the last round's time) or would go past MAX_FACTOR times the asked."""
    size = 2 * rounds[-1]
    if sum(rounds) + size > MAX_FACTOR * asked:
        return None
    if elapsed + 2 * last_duration > budget:
        return None
    return size
