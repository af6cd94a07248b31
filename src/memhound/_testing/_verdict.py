"""One test's leak-check verdict, and the session's tally of them.

A verdict is plain data (it crosses from a pytest-xdist worker to the controller inside a test
report's user_properties), so it is built, summed and rendered without pytest.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

CLEAN = "clean"
LEAKING = "leaking"
NOT_REPEATABLE = "not_repeatable"
NOT_CHECKED = "not_checked"
STATUSES = (CLEAN, LEAKING, NOT_REPEATABLE, NOT_CHECKED)
# The key of the verdict in a report's user_properties.
PROPERTY = "memhound_leaks"


@dataclass(frozen=True)
class Verdict:
    """`reason`: why a test was not checked or is not repeatable; `report`: the LeakReport's
    JSON (the `memhound leaks` schema) for a checked test; `seconds`: what the check cost."""

    test: str
    status: str
    reason: str | None = None
    seconds: float = 0.0
    report: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it would deep-copy the report, which is JSON already.
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        return {key: value for key, value in values.items() if value is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        return cls(**data)


def not_checked(test: str, reason: str) -> Verdict:
    return Verdict(test, NOT_CHECKED, reason)


@dataclass
class Tally:
    """Every verdict of a session, in the order the tests finished."""

    verdicts: list[Verdict] = field(default_factory=list)

    def add(self, verdict: Verdict) -> None:
        self.verdicts.append(verdict)

    def count(self, status: str) -> int:
        return sum(1 for verdict in self.verdicts if verdict.status == status)

    @property
    def seconds(self) -> float:
        return sum(verdict.seconds for verdict in self.verdicts)

    def summary_line(self) -> str:
        """`memhound leaks: 140 checked (2 leaking), 1 not repeatable, 3 not checked (xfail 2,
        skipped 1); the checks took 12.3 s`."""
        checked = self.count(CLEAN) + self.count(LEAKING)
        parts = [f"{checked} checked ({self.count(LEAKING)} leaking)"]
        parts.append(f"{self.count(NOT_REPEATABLE)} not repeatable")
        reasons = Counter(_reason_kind(v) for v in self.verdicts if v.status == NOT_CHECKED)
        unchecked = f"{self.count(NOT_CHECKED)} not checked"
        if reasons:
            unchecked += " (" + ", ".join(f"{r} {n}" for r, n in reasons.most_common()) + ")"
        parts.append(unchecked)
        return f"memhound leaks: {', '.join(parts)}; the checks took {self.seconds:.1f} s"

    def listed(self, status: str) -> list[str]:
        """One line per test of `status`: its id and why."""
        return [f"{v.test}: {v.reason}" for v in self.verdicts if v.status == status]

    def to_json(self) -> dict[str, Any]:
        totals = {status: self.count(status) for status in STATUSES}
        return {
            "totals": totals,
            "seconds": round(self.seconds, 3),
            "tests": [verdict.to_json() for verdict in self.verdicts],
        }

    def write_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_json(), handle, indent=2)
            handle.write("\n")


def _reason_kind(verdict: Verdict) -> str:
    """The first word group of a reason: 'xfail', 'skipped', 'failed', 'marker memhound_skip'."""
    return (verdict.reason or "unknown").split(":")[0]
