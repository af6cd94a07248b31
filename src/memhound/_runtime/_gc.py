"""gc_stats() and gc_watch(): what the cyclic garbage collector does, per generation.

The interpreter itself counts, per generation, collections, objects collected and objects
found uncollectable since it started (gc.get_stats). It does not time anything: pause times
exist only while memhound watches, through a gc.callbacks entry that reads perf_counter at
each collection's "start" and "stop". So a GcStats says which it is: scope "watch" (every
figure counted by memhound's callback while a gc_watch() was active, pause times included) or
scope "process" (the interpreter's own counts since start-up, no pause times).
"""

from __future__ import annotations

import _thread
import gc
import math
import reprlib
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, Self

from memhound import _core
from memhound._errors import MemhoundError
from memhound._runtime._format import format_bytes, format_seconds
from memhound._snapshot import _OWN_CODE, Snapshot, own_code

GENERATIONS = len(gc.get_stats())

# Pause durations are counted in buckets 10^(1/20) wide (12%) from 1 us to 100 s: bucket 0 is
# under 1 us, bucket k in [1 us * 10^((k-1)/20), 1 us * 10^(k/20)), the last one 100 s and over.
_STEPS_PER_DECADE = 20
_DECADES = 8
_BUCKETS = _STEPS_PER_DECADE * _DECADES + 2
_SMALLEST = 1e-6


def _bucket(seconds: float) -> int:
    if seconds < _SMALLEST:
        return 0
    index = int(math.log10(seconds / _SMALLEST) * _STEPS_PER_DECADE) + 1
    return min(index, _BUCKETS - 1)


def _bucket_bounds(index: int) -> tuple[float, float]:
    if index == 0:
        return 0.0, _SMALLEST
    upper = math.inf if index == _BUCKETS - 1 else _SMALLEST * 10 ** (index / _STEPS_PER_DECADE)
    return _SMALLEST * 10 ** ((index - 1) / _STEPS_PER_DECADE), upper


@dataclass(frozen=True)
class PauseStats:
    """How long the collections of one generation stopped the program.

    `histogram` holds (upper bound in seconds, collections) per decade: under 10 us, under
    100 us, ... under 100 s; the last bound is inf. Total, max and min are exact; the median is
    read from finer buckets, to within 6%.
    """

    count: int
    total_s: float
    max_s: float
    min_s: float
    median_s: float
    histogram: tuple[tuple[float, int], ...]

    @property
    def mean_s(self) -> float:
        return self.total_s / self.count if self.count else 0.0

    @classmethod
    def from_buckets(
        cls, count: int, total: float, longest: float, shortest: float, buckets: list[int]
    ) -> PauseStats:
        decades = [0] * (_DECADES + 1)
        for index, n in enumerate(buckets):
            decades[0 if index == 0 else min((index - 1) // _STEPS_PER_DECADE, _DECADES)] += n
        bounds = [10.0 ** (d - 5) for d in range(_DECADES)] + [math.inf]  # 10 us, 100 us, ...
        return cls(
            count,
            total,
            longest if count else 0.0,
            shortest if count else 0.0,
            _median(buckets, count, shortest, longest),
            tuple(zip(bounds, decades)),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["mean_s"] = self.mean_s
        data["histogram"] = [
            {"upper_s": None if math.isinf(upper) else upper, "count": n}
            for upper, n in self.histogram
        ]
        return data

    def histogram_text(self) -> str:
        """The non-empty part of the histogram, e.g. `<10us:40 <100us:7 <1ms:1`."""
        cells = [(upper, n) for upper, n in self.histogram]
        used = [i for i, (_upper, n) in enumerate(cells) if n]
        if not used:
            return ""
        return " ".join(
            f"{'<' + _short_seconds(upper) if not math.isinf(upper) else '>=100s'}:{n}"
            for upper, n in cells[used[0] : used[-1] + 1]
        )

    def __str__(self) -> str:
        return (
            f"{self.count} pauses, total {format_seconds(self.total_s)}, max "
            f"{format_seconds(self.max_s)}, median {format_seconds(self.median_s)}"
        )


def _short_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:g}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:g}ms"
    return f"{seconds * 1e6:g}us"


def _median(buckets: list[int], count: int, shortest: float, longest: float) -> float:
    if count == 0:
        return 0.0
    middle = (count + 1) / 2
    seen = 0
    for index, n in enumerate(buckets):
        seen += n
        if seen >= middle:
            low, high = _bucket_bounds(index)
            estimate = math.sqrt(low * high) if low > 0 and not math.isinf(high) else low or high
            return min(max(estimate, shortest), longest)
    return longest


@dataclass(frozen=True)
class GenerationStats:
    """One generation: collections, objects collected, objects found uncollectable (put in
    gc.garbage), its threshold and current count (gc.get_threshold, gc.get_count), and, in a
    watch, the pause times of its collections (None for the process scope)."""

    generation: int
    collections: int
    collected: int
    uncollectable: int
    threshold: int
    count: int
    pauses: PauseStats | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pauses"] = None if self.pauses is None else self.pauses.to_dict()
        return data


@dataclass(frozen=True)
class GarbageObject:
    """An object in gc.garbage: its index there, type, size (sys.getsizeof), a short repr, and
    why it is in memory apart from gc.garbage: `path` from a root of the program, else `cycle`,
    the reference cycle through it; both None when only other garbage refers to it."""

    index: int
    type: str
    size: int
    summary: str
    path: str | None
    cycle: str | None

    def __str__(self) -> str:
        why = self.path or self.cycle or "only other garbage refers to it"
        return f"gc.garbage[{self.index}] {self.type} ({format_bytes(self.size)}): {why}"


@dataclass(frozen=True)
class GarbageReport:
    """What gc.garbage holds: the count, the count per type, and the first objects described."""

    count: int
    by_type: tuple[tuple[str, int], ...]
    objects: tuple[GarbageObject, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "by_type": [{"type": name, "count": n} for name, n in self.by_type],
            "objects": [asdict(obj) for obj in self.objects],
        }


@dataclass(frozen=True)
class GcStats:
    """The collector's figures. `scope` is "watch" (counted by memhound while a gc_watch was
    active, for `duration_s` seconds, with pause times) or "process" (gc.get_stats: the
    interpreter's counts since it started, no pause times, `duration_s` None)."""

    scope: str
    duration_s: float | None
    enabled: bool
    debug_flags: int
    frozen: int
    generations: tuple[GenerationStats, ...]
    garbage: GarbageReport
    callback_failures: int = 0

    @property
    def collections(self) -> int:
        return sum(g.collections for g in self.generations)

    @property
    def collected(self) -> int:
        return sum(g.collected for g in self.generations)

    @property
    def uncollectable(self) -> int:
        return sum(g.uncollectable for g in self.generations)

    @property
    def pause_total_s(self) -> float | None:
        if self.scope != "watch":
            return None
        return sum(g.pauses.total_s for g in self.generations if g.pauses is not None)

    @property
    def pause_share(self) -> float | None:
        """The share of the watched time spent in collections."""
        total = self.pause_total_s
        if total is None or not self.duration_s:
            return None
        return total / self.duration_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "duration_s": self.duration_s,
            "enabled": self.enabled,
            "debug_flags": self.debug_flags,
            "frozen": self.frozen,
            "collections": self.collections,
            "collected": self.collected,
            "uncollectable": self.uncollectable,
            "pause_total_s": self.pause_total_s,
            "pause_share": self.pause_share,
            "callback_failures": self.callback_failures,
            "generations": [g.to_dict() for g in self.generations],
            "garbage": self.garbage.to_dict(),
        }

    def __str__(self) -> str:
        return "\n".join(self._lines())

    __repr__ = __str__

    def _lines(self) -> list[str]:
        state = "enabled" if self.enabled else "DISABLED"
        if self.scope == "watch":
            share = self.pause_share
            head = (
                f"collector ({state}), watched for {format_seconds(self.duration_s)}: "
                f"{self.collections:,} collections took {format_seconds(self.pause_total_s)}"
                + (f" ({share:.2%} of the time)" if share is not None else "")
            )
        else:
            head = (
                f"collector ({state}), since the interpreter started (gc.get_stats; pause "
                f"times need memhound.gc_watch()): {self.collections:,} collections"
            )
        lines = [head]
        if self.frozen:
            lines.append(
                f"  {self.frozen:,} objects in the permanent generation (gc.freeze): never collected"
            )
        lines.append(
            f"  {'gen':>3} {'collections':>11} {'collected':>10} {'uncollectable':>13} "
            f"{'threshold':>9} {'count':>6}"
            + (f" {'pause total':>11} {'max':>9} {'median':>9}" if self.scope == "watch" else "")
        )
        for g in self.generations:
            row = (
                f"  {g.generation:>3} {g.collections:>11,} {g.collected:>10,} "
                f"{g.uncollectable:>13,} {g.threshold:>9,} {g.count:>6,}"
            )
            if g.pauses is not None and g.pauses.count:
                row += (
                    f" {format_seconds(g.pauses.total_s):>11} {format_seconds(g.pauses.max_s):>9}"
                    f" {format_seconds(g.pauses.median_s):>9}"
                )
            elif g.pauses is not None:
                row += f" {'-':>11} {'-':>9} {'-':>9}"
            lines.append(row)
        for g in self.generations:
            if g.pauses is not None and g.pauses.count:
                lines.append(f"  gen {g.generation} pauses: {g.pauses.histogram_text()}")
        garbage = self.garbage
        if garbage.count == 0:
            lines.append("  gc.garbage is empty")
        else:
            kinds = ", ".join(f"{n} {name}" for name, n in garbage.by_type[:5])
            lines.append(f"  gc.garbage holds {garbage.count:,} objects: {kinds}")
            lines.extend(f"    {obj}" for obj in garbage.objects)
            if garbage.count > len(garbage.objects):
                lines.append(f"    ... and {garbage.count - len(garbage.objects):,} more")
        if self.callback_failures:
            lines.append(f"  ({self.callback_failures} collections could not be recorded)")
        return lines


# ---- watching ---------------------------------------------------------------------------------


class _Monitor:
    """The one gc.callbacks entry memhound installs while any watch is active.

    `_active` is a tuple replaced whole under `_lock` by watches starting and stopping; the
    callback only reads it, so it takes no lock (a lock taken inside a collection could wait on
    a thread that allocates, and collections run one at a time anyway).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: tuple[GcWatch, ...] = ()
        self._started_at: float | None = None
        self._watching: tuple[GcWatch, ...] = ()  # the watches active when a collection started
        self.failures = 0
        self._entry = self._callback  # one bound method, so that it is found again by identity

    @property
    def installed(self) -> bool:
        return any(cb is self._entry for cb in gc.callbacks)

    def outermost(self) -> GcWatch | None:
        active = self._active
        return active[0] if active else None

    def add(self, watch: GcWatch) -> None:
        with self._lock:
            self._active = (*self._active, watch)
            if not self.installed:
                gc.callbacks.append(self._entry)

    def remove(self, watch: GcWatch) -> None:
        with self._lock:
            self._active = tuple(w for w in self._active if w is not watch)
            if not self._active:
                # by identity: a user's callback that compares equal must stay
                for index in range(len(gc.callbacks) - 1, -1, -1):
                    if gc.callbacks[index] is self._entry:
                        del gc.callbacks[index]

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        # Never raises: an exception here would be printed as unraisable from the collector.
        try:
            if phase == "start":
                self._watching = self._active
                self._started_at = time.perf_counter()
                return
            stopped = time.perf_counter()
            started, watching = self._started_at, self._watching
            self._started_at, self._watching = None, ()
            if started is None:
                return  # installed while this collection ran (from a finalizer)
            generation = info["generation"]
            collected, uncollectable = info["collected"], info["uncollectable"]
            for watch in watching:
                watch._record(generation, stopped - started, collected, uncollectable)
        except BaseException as exc:  # noqa: BLE001 (see above)
            self.failures += 1
            if isinstance(exc, KeyboardInterrupt):
                _thread.interrupt_main()  # Ctrl-C during our callback: deliver it again


_MONITOR = _Monitor()


class GcWatch:
    """Counts the collector's work while active: `with memhound.gc_watch() as watch: ...`, then
    `watch.stats()` (also while active). Watches nest, and one watch may be entered again (also
    from several threads): it counts while entered at least once, over all its active periods.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._began: float | None = None
        self._elapsed = 0.0
        self._failures_at_start = 0
        self._failures = 0
        self._version = 0  # odd while the callback updates the figures (a sequence lock)
        self._counts = [[0, 0, 0, 0.0, 0.0, math.inf] for _ in range(GENERATIONS)]
        self._buckets = [[0] * _BUCKETS for _ in range(GENERATIONS)]

    @property
    def active(self) -> bool:
        return self._depth > 0

    def __enter__(self) -> Self:
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                self._began = time.perf_counter()
                self._failures_at_start = _MONITOR.failures
                _MONITOR.add(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            if self._depth == 0:
                return
            self._depth -= 1
            if self._depth == 0:
                _MONITOR.remove(self)
                self._elapsed += time.perf_counter() - (self._began or time.perf_counter())
                self._failures += _MONITOR.failures - self._failures_at_start
                self._began = None

    def _record(self, generation: int, seconds: float, collected: int, uncollectable: int) -> None:
        if not self._depth or not 0 <= generation < GENERATIONS:
            return
        self._version += 1
        row = self._counts[generation]
        row[0] += 1
        row[1] += collected
        row[2] += uncollectable
        row[3] += seconds
        row[4] = max(row[4], seconds)
        row[5] = min(row[5], seconds)
        self._buckets[generation][_bucket(seconds)] += 1
        self._version += 1

    @property
    def duration_s(self) -> float:
        began = self._began
        return self._elapsed + (time.perf_counter() - began if began is not None else 0.0)

    def stats(self, garbage_limit: int = 20, paths: bool = True) -> GcStats:
        """The figures counted while this watch was active, and what gc.garbage holds now (the
        first `garbage_limit` objects described; with `paths`, each with the path or cycle that
        keeps it, from a heap snapshot taken only when gc.garbage is not empty)."""
        counts, buckets = self._consistent_figures()
        thresholds, current = gc.get_threshold(), gc.get_count()
        generations = tuple(
            GenerationStats(
                generation,
                int(row[0]),
                int(row[1]),
                int(row[2]),
                _at(thresholds, generation),
                _at(current, generation),
                PauseStats.from_buckets(int(row[0]), row[3], row[4], row[5], buckets[generation]),
            )
            for generation, row in enumerate(counts)
        )
        failures = self._failures + (
            _MONITOR.failures - self._failures_at_start if self._depth else 0
        )
        return _gc_stats("watch", self.duration_s, generations, garbage_limit, paths, failures)

    def _consistent_figures(self) -> tuple[list[list[float]], list[list[int]]]:
        for _attempt in range(1000):
            version = self._version
            counts = [list(row) for row in self._counts]
            buckets = [list(row) for row in self._buckets]
            if version % 2 == 0 and version == self._version:
                return counts, buckets
            time.sleep(0)  # a collection is being recorded in another thread
        return counts, buckets

    def __repr__(self) -> str:
        state = "active" if self.active else "stopped"
        total = sum(int(row[0]) for row in self._counts)
        return f"<memhound.GcWatch {state}: {total} collections in {self.duration_s:.3f} s>"


def gc_watch() -> GcWatch:
    """A context manager that counts every collection while it is active, with its pause time:
    `with memhound.gc_watch() as watch: work()`, then `print(watch.stats())`."""
    return GcWatch()


def gc_stats(garbage_limit: int = 20, paths: bool = True, process: bool = False) -> GcStats:
    """The collector's figures: those of the outermost active gc_watch (scope "watch", with
    pause times), or when none is active (or with process=True) the interpreter's own since
    start-up (scope "process", gc.get_stats, no pause times). Either way with what gc.garbage
    holds; see GcWatch.stats for `garbage_limit` and `paths`."""
    watch = None if process else _MONITOR.outermost()
    if watch is not None:
        return watch.stats(garbage_limit, paths)
    thresholds, current = gc.get_threshold(), gc.get_count()
    generations = tuple(
        GenerationStats(
            generation,
            row["collections"],
            row["collected"],
            row["uncollectable"],
            _at(thresholds, generation),
            _at(current, generation),
            None,
        )
        for generation, row in enumerate(gc.get_stats())
    )
    return _gc_stats("process", None, generations, garbage_limit, paths, 0)


def _at(values: tuple[int, ...], index: int) -> int:
    return values[index] if index < len(values) else 0


def _gc_stats(
    scope: str,
    duration: float | None,
    generations: tuple[GenerationStats, ...],
    garbage_limit: int,
    paths: bool,
    failures: int,
) -> GcStats:
    return GcStats(
        scope=scope,
        duration_s=duration,
        enabled=gc.isenabled(),
        debug_flags=gc.get_debug(),
        frozen=gc.get_freeze_count(),
        generations=generations,
        garbage=garbage_report(max(0, garbage_limit), paths),
        callback_failures=failures,
    )


# ---- gc.garbage ---------------------------------------------------------------------------------

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60


def _type_name(cls: type) -> str:
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", cls.__name__)
    return name if module in (None, "builtins") else f"{module}.{name}"


def _summary(obj: object) -> str:
    try:
        return _SHORT.repr(obj)
    except Exception:  # noqa: BLE001 (a broken __repr__ in the program's garbage)
        return f"<{_type_name(type(obj))} object at {id(obj):#x}>"


def _size(obj: object) -> int:
    try:
        return sys.getsizeof(obj)
    except Exception:  # noqa: BLE001 (a broken __sizeof__)
        return 0


def garbage_report(limit: int, paths: bool) -> GarbageReport:
    """gc.garbage by type, its first `limit` objects described (with paths when asked)."""
    items = list(gc.garbage)
    by_type = Counter(_type_name(type(obj)) for obj in items)
    shown = items[:limit]
    why = _why_alive(shown, items) if paths and shown else {}
    objects = tuple(
        GarbageObject(
            index,
            _type_name(type(obj)),
            _size(obj),
            _summary(obj),
            *why.get(index, (None, None)),
        )
        for index, obj in enumerate(shown)
    )
    return GarbageReport(len(items), tuple(by_type.most_common()), objects)


def _why_alive(
    objects: list[object], items: list[object]
) -> dict[int, tuple[str | None, str | None]]:
    """For each object, the path from a root that keeps it, else its reference cycle.

    A path through gc.garbage would say nothing, so gc.garbage is emptied for the length of the
    walk, its objects held meanwhile by `items`, a local of this machinery (whose frames are not
    roots), and put back in front of anything a collection added meanwhile. Another thread that
    reads gc.garbage during the walk sees it empty.
    """
    thread_names = {thread.ident: thread.name for thread in threading.enumerate() if thread.ident}
    garbage = gc.garbage
    try:
        del garbage[:]
        snap = Snapshot(_core.take_snapshot([], thread_names, list(_OWN_CODE)))
    except (_core.CoreError, MemhoundError):
        return {}
    finally:
        garbage[:0] = items
    result: dict[int, tuple[str | None, str | None]] = {}
    for index, obj in enumerate(objects):
        node = snap.node_of(obj)
        if node is None:
            continue
        path = snap.path_to_node(node)
        if path is not None:
            result[index] = (str(path), None)
            continue
        cycle = snap.cycle_of(node)
        if cycle:
            text, previous = f"<{snap.node_type(node)}>", None
            for step in cycle:
                text, previous = text + step.render(previous), step
            result[index] = (None, f"{text} (back to itself)")
    return result


# The frames of these functions hold the garbage objects being described: they are not roots.
own_code(garbage_report, _why_alive)
