"""What each benchmark section hands to the report: a title, a markdown body, bar verdicts."""

from __future__ import annotations

from dataclasses import dataclass, field

from _markdown import BarResult


@dataclass(frozen=True)
class SectionReport:
    title: str
    body: str
    bars: list[BarResult] = field(default_factory=list)
