"""summary(), SummaryTracker and show_growth(): how many objects of each type, and their bytes.

A census walk in C++ (memhound._core.census_heap) visits the objects a heap snapshot would
(every GC-tracked object and everything reachable from those and from the threads' frames
through tp_traverse), counts each once with its sys.getsizeof size, and keeps the figures per
type name in a C++ TypeCensus; it builds no graph. The results keep their figures in that C++
object and make rows on demand, so a tracker's baseline holds no Python objects that a later
census would count, and memhound's own results and trackers are left out of every census.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, NamedTuple

from memhound import _core
from memhound._errors import MemhoundError, UsageError
from memhound._objects import _own, _table
from memhound.report._format import format_bytes, format_count

SHOWN_ROWS = 20  # rows a result shows at a prompt; format(limit=None) shows all


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """Objects of one type: how many, and their shallow bytes (sys.getsizeof) in all."""

    type: str
    count: int
    bytes: int


@dataclass(frozen=True, slots=True)
class SummaryDiffRow:
    """A type whose objects changed: the change in count and in bytes (negative: fewer)."""

    type: str
    count_delta: int
    bytes_delta: int


class GrowthRow(NamedTuple):
    """A type with more instances than at the last show_growth(): how many now, how many more."""

    type: str
    count: int
    delta: int


def type_key(kind: type | str) -> str:
    """The name a census gives a type: "module.QualName" for classes, the C name for built-ins."""
    if isinstance(kind, str):
        return kind
    if isinstance(kind, type):
        return str(_core.type_name(kind))
    raise UsageError(f"expected a type or a type name, got a {type(kind).__name__}")


def _check_limit(limit: int | None) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise UsageError(f"limit must be a positive int or None, not {limit!r}")
    return limit


def _census() -> Any:
    """A census of the heap without memhound's own objects (the call's own frames included)."""
    try:
        return _core.census_heap(_own.own_objects(), _OWN_CODE)
    except _core.CoreError as exc:
        raise MemhoundError(str(exc)) from None


class _CensusResult:
    """A result kept as a C++ TypeCensus (name, count, bytes per type), rows made on demand:
    what Summary and SummaryDiff share. Registered as memhound's own, so no census counts it."""

    __slots__ = ("__weakref__", "_census")
    _row: Any  # the row class of the subclass

    def __init__(self, census: Any) -> None:
        self._census = census
        _own.register(self)

    def _own_parts(self) -> list[object]:
        return [self]

    @property
    def rows(self) -> list[Any]:
        return [self._row(*row) for row in self._census.rows()]

    def __len__(self) -> int:
        return len(self._census)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.rows)

    def get(self, kind: type | str) -> Any:
        """The row of a type (a class, or its name as the rows spell it); zero when absent."""
        key = type_key(kind)
        for row in self._census.rows():
            if row[0] == key:
                return self._row(*row)
        return self._row(key, 0, 0)

    def _render(
        self, title: str, rows: list[tuple[str, int, int]], limit: int | None, signed: bool
    ) -> str:
        shown = rows if limit is None else rows[:limit]
        count_text = _table.signed_count if signed else format_count
        bytes_text = _table.signed_bytes if signed else format_bytes
        body = _table.render(
            ["type", "count", "bytes"],
            [[_table.clip(name), count_text(n), bytes_text(b)] for name, n, b in shown],
            [False, True, True],
        )
        return "\n".join([title, body, *_more(len(rows) - len(shown))])

    def __repr__(self) -> str:
        return self.format()  # type: ignore[attr-defined]  # each subclass has its own format

    __str__ = __repr__


class Summary(_CensusResult):
    """Objects per type over the whole heap at one moment: `rows` (largest bytes first),
    `total_count`, `total_bytes`, `get(type)`. Prints as a table of the largest types."""

    __slots__ = ()
    _row = SummaryRow

    @property
    def total_count(self) -> int:
        return int(self._census.total_count)

    @property
    def total_bytes(self) -> int:
        return int(self._census.total_bytes)

    def diff(self, older: Summary) -> SummaryDiff:
        """What changed since `older`: per type, the change in count and bytes."""
        if not isinstance(older, Summary):
            raise UsageError(f"diff() needs an older Summary, not a {type(older).__name__}")
        return SummaryDiff(self._census.minus(older._census))

    def format(self, limit: int | None = SHOWN_ROWS) -> str:
        """The table, the `limit` largest types first (all of them with None)."""
        rows = self._census.rows()
        title = (
            f"memhound summary: {format_count(self.total_count)} objects, "
            f"{format_bytes(self.total_bytes)}, {len(rows)} types"
        )
        return self._render(title, rows, _check_limit(limit), signed=False)


class SummaryDiff(_CensusResult):
    """The change per type between two summaries, only the types that changed: `rows` (largest
    byte growth first, shrinking types last), `count_delta`, `bytes_delta`, `get(type)` (zero
    when it did not change)."""

    __slots__ = ()
    _row = SummaryDiffRow

    @property
    def count_delta(self) -> int:
        return int(self._census.total_count)

    @property
    def bytes_delta(self) -> int:
        return int(self._census.total_bytes)

    def __bool__(self) -> bool:
        return len(self) > 0

    def format(self, limit: int | None = SHOWN_ROWS) -> str:
        """The table, the `limit` largest changes first (all of them with None)."""
        limit = _check_limit(limit)
        rows = self._census.rows()
        if not rows:
            return "memhound summary diff: no change"
        title = (
            f"memhound summary diff: {_table.signed_count(self.count_delta)} objects, "
            f"{_table.signed_bytes(self.bytes_delta)} ({len(rows)} types changed)"
        )
        return self._render(title, rows, limit, signed=True)


def _more(hidden: int) -> list[str]:
    return [f"... {hidden} more types (format(limit=None) shows all)"] if hidden > 0 else []


def summary() -> Summary:
    """Count and bytes per type over every object in this process, GC-tracked or not (strings,
    ints and atomic dicts included), largest bytes first. memhound's own trackers and results
    are not counted. Never runs the garbage collector."""
    return Summary(_census())


class SummaryTracker:
    """Tracks how the heap changes: each diff() gives the change per type since the tracker was
    made or since the last diff(). The tracker, and the results it and other censuses returned,
    are not counted."""

    __slots__ = ("__weakref__", "_baseline")

    def __init__(self) -> None:
        _own.register(self)
        self._baseline = _census()

    def _own_parts(self) -> list[object]:
        return [self]

    def diff(self) -> SummaryDiff:
        """The change per type since the last diff() (or since the tracker was made); only the
        types whose count or bytes changed."""
        current = _census()
        result = SummaryDiff(current.minus(self._baseline))
        self._baseline = current
        return result

    def print_diff(self, file: IO[str] | None = None, limit: int | None = SHOWN_ROWS) -> None:
        """Prints diff() as a table (to sys.stdout unless `file` is given)."""
        limit = _check_limit(limit)
        print(self.diff().format(limit), file=file if file is not None else sys.stdout)

    def __repr__(self) -> str:
        return (
            f"<memhound.SummaryTracker: baseline of {format_count(self._baseline.total_count)} "
            f"objects, {format_bytes(self._baseline.total_bytes)}>"
        )


class Growth:
    """The types whose instance count grew since the previous show_growth(): `rows` of
    GrowthRow(type, count, delta), largest growth first."""

    __slots__ = ("__weakref__", "_current", "_limit", "_older")

    def __init__(self, current: Any, older: Any, limit: int | None) -> None:
        self._current, self._older, self._limit = current, older, limit
        _own.register(self)

    def _own_parts(self) -> list[object]:
        return [self]

    @property
    def rows(self) -> list[GrowthRow]:
        limit = len(self._current) if self._limit is None else self._limit
        return [GrowthRow(*row) for row in self._current.growth_since(self._older, limit)]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[GrowthRow]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> GrowthRow:
        return self.rows[index]

    def get(self, kind: type | str) -> GrowthRow | None:
        """The growth of one type, or None when it did not grow (or is past the limit)."""
        key = type_key(kind)
        return next((row for row in self.rows if row.type == key), None)

    def format(self) -> str:
        rows = self.rows
        if not rows:
            return "no type grew"
        return _table.render(
            ["type", "count", "delta"],
            [
                [_table.clip(r.type), format_count(r.count), _table.signed_count(r.delta)]
                for r in rows
            ],
            [False, True, True],
        )

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        """One line: show_growth() has printed the table already (at a prompt, its result is
        shown after it)."""
        rows = self.rows
        grown = ", ".join(f"{row.type} {row.delta:+,}" for row in rows)
        return f"<memhound.Growth: {len(rows)} types grew{': ' if rows else ''}{grown}>"


class _GrowthState:
    """show_growth()'s counts at its previous call (none before the first)."""

    __slots__ = ("__weakref__", "census")

    def __init__(self) -> None:
        self.census = _core.TypeCensus()
        _own.register(self)

    def _own_parts(self) -> list[object]:
        return [self]


_GROWTH = _GrowthState()


def show_growth(limit: int | None = 10, file: IO[str] | None = None) -> Growth:
    """Prints the types whose instance count grew since the previous call (every type, on the
    first call): type, count now, +delta, largest growth first, at most `limit` rows (None: all),
    to sys.stdout unless `file` is given. Returns the same rows as a Growth."""
    limit = _check_limit(limit)
    current = _census()
    growth = Growth(current, _GROWTH.census, limit)
    _GROWTH.census = current
    print(growth.format(), file=file if file is not None else sys.stdout)
    return growth


# Frames running these functions are the census machinery, not part of the heap they count.
_OWN_CODE: list[object] = [
    function.__code__
    for function in (
        _census,
        summary,
        SummaryTracker.__init__,
        SummaryTracker.diff,
        SummaryTracker.print_diff,
        show_growth,
    )
]
