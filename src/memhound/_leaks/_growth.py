"""Which allocation sites grow: the refleak-hunting rule over per-checkpoint live counts.

A site leaks when its live count (or, for a buffer that is reallocated bigger each time, its
live bytes) goes up at every one of the last `window` checkpoints, the way CPython's refleak
hunting requires every one of its last runs to leak. Growth that happens once or stops (a cache
that fills, a deque(maxlen=...) sliding window, interpreter internals that warm up) has a zero
delta somewhere in the window and is not a leak. Pure functions over plain numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

MIN_WINDOW = 3


@dataclass(frozen=True)
class SiteGrowth:
    """Live allocations of one stack at each checkpoint (the first is the start: zero)."""

    stack: int
    counts: tuple[int, ...]
    sizes: tuple[int, ...]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SiteGrowth:
        """A row of Capture.site_growth: {"stack", "counts", "bytes"}."""
        return cls(int(row["stack"]), tuple(row["counts"]), tuple(row["bytes"]))


def by_stack(rows: Iterable[Mapping[str, Any]]) -> list[SiteGrowth]:
    """One SiteGrowth per stack from Capture.site_growth rows, whose native memory (malloc,
    PyTraceMalloc_Track) comes in rows of its own: a site is a stack, whatever the allocator."""
    merged: dict[int, SiteGrowth] = {}
    for row in rows:
        site = SiteGrowth.from_row(row)
        known = merged.get(site.stack)
        if known is not None:
            site = SiteGrowth(
                site.stack,
                tuple(a + b for a, b in zip(known.counts, site.counts)),
                tuple(a + b for a, b in zip(known.sizes, site.sizes)),
            )
        merged[site.stack] = site
    return list(merged.values())


@dataclass(frozen=True)
class Growth:
    """A leaking site and its average growth per iteration over the window."""

    stack: int
    count_per_iteration: float
    bytes_per_iteration: float


def window_for(iterations: int) -> int:
    """How many trailing checkpoints must all grow: a third of the run, at least 3."""
    return min(iterations, max(MIN_WINDOW, iterations // 3))


def grows_every_time(series: Sequence[int], window: int) -> bool:
    """True when each of the last `window` deltas of the series is positive."""
    if len(series) < window + 1:
        return False
    tail = series[-(window + 1) :]
    return all(later > earlier for earlier, later in pairwise(tail))


def per_iteration(series: Sequence[int], window: int) -> float:
    """Average growth per checkpoint over the window."""
    tail = series[-(window + 1) :]
    return (tail[-1] - tail[0]) / window


def growing_sites(
    rows: Iterable[SiteGrowth], iterations: int, window: int | None = None
) -> list[Growth]:
    """The sites that grow at every checkpoint of the window (by default window_for), biggest
    growth first."""
    window = window_for(iterations) if window is None else window
    found = [
        Growth(
            stack=row.stack,
            count_per_iteration=max(per_iteration(row.counts, window), 0.0),
            bytes_per_iteration=per_iteration(row.sizes, window),
        )
        for row in rows
        if grows_every_time(row.counts, window) or grows_every_time(row.sizes, window)
    ]
    return sorted(found, key=lambda growth: -growth.bytes_per_iteration)
