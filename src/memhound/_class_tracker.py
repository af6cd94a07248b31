"""ClassTracker: every creation and destruction of the instances of chosen classes.

The hooks live in the C++ core (memhound._core.objects): they replace the tracked class's
tp_alloc and tp_free slots, so that each instance's life (time, id, size, and with trace=True its
allocation stack) is recorded without Python code running on the hot path and without any
reference to the instance being kept. This module names the groups, formats what the core
records, takes snapshots, writes and reads dumps, and logs creations and destructions through
the `logging` module when asked.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Self

from memhound import _core
from memhound._errors import CaptureError, UsageError

LOGGER_NAME = "memhound.objects"
DUMP_FORMAT = "memhound-class-stats"
DUMP_VERSION = 1

_objects = _core.objects
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class made by a class statement (or type())
_END_KINDS = ("destroyed", "lost", "alive")

# group id -> (name, level) for the groups whose creations and destructions are logged. Read by
# the core's callback, written under the GIL by track_class and detach.
_LOGGED: dict[int, tuple[str, int]] = {}


@dataclass(frozen=True)
class Frame:
    """One frame of an allocation stack."""

    filename: str
    lineno: int
    function: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.lineno} in {self.function}"


@dataclass(frozen=True)
class InstanceLife:
    """The life of one tracked instance. `created` and `ended` are time.monotonic() seconds at
    the clock's resolution (ClassStats.clock_resolution); `end` is "alive", "destroyed" or "lost"
    (freed without its class's tp_free, by a C base's deallocator: found when its address was
    reused). An `adopted`
    instance was tracked from track_object() on, not from its creation. `trace` (innermost frame
    first) is recorded for classes tracked with trace=True."""

    name: str
    id: int
    size: int
    created: float
    ended: float | None
    end: str
    adopted: bool = False
    trace: tuple[Frame, ...] = ()

    @property
    def alive(self) -> bool:
        return self.end == "alive"

    @property
    def lifetime(self) -> float | None:
        return None if self.ended is None else self.ended - self.created

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        start = "tracked" if self.adopted else "created"
        text = f"{self.name} id={self.id:#x} size={self.size} B: {start} at {self.created:.3f}"
        if self.ended is not None:
            text += f", {self.end} at {self.ended:.3f} (lived {self.lifetime:.3f} s)"
        else:
            text += ", alive"
        if self.trace:
            text += "\n" + "\n".join(f"    {frame}" for frame in self.trace)
        return text


@dataclass(frozen=True)
class ClassSummary:
    """One class (or track_object name) in a snapshot: live instances and their total size."""

    name: str
    live: int
    total_size: int

    @property
    def average_size(self) -> float:
        return self.total_size / self.live if self.live else 0.0


@dataclass(frozen=True)
class ClassSnapshot:
    """The tracked classes at one moment. Sizes are memhound.asizesof's over the live instances
    in creation order: each instance with what it references, data shared by several counted in
    the first (classes, modules and code are not counted). `instances` lists the live instances of
    classes tracked with trace=True. `unverified` counts instances sized from their creation
    record instead (taken while the collector ran, or not found in its lists)."""

    time: float
    description: str
    classes: dict[str, ClassSummary]
    instances: tuple[InstanceLife, ...] = ()
    unverified: int = 0

    @property
    def total_size(self) -> int:
        return sum(summary.total_size for summary in self.classes.values())

    def __str__(self) -> str:
        return "\n".join(_snapshot_lines(self, list(self.classes)))


@dataclass(frozen=True)
class ClassCounts:
    """Creations and destructions seen since tracking began (track_object counts as created)."""

    created: int
    destroyed: int
    live: int
    peak: int


@dataclass
class ClassStats:
    """What a ClassTracker recorded: counts per class, its snapshots and every instance's life.
    `print_summary()` prints per class and snapshot the live instances, total and average size;
    `dump(path)` writes it all to a file that `ClassStats.load(path)` (or
    `memhound.load_class_stats(path)`) reads back."""

    counts: dict[str, ClassCounts]
    snapshots: list[ClassSnapshot]
    clock_resolution: float
    _lives: list[InstanceLife] | None = field(default=None, repr=False)
    _fetch_lives: Callable[[], list[InstanceLife]] | None = field(default=None, repr=False)

    @property
    def classes(self) -> list[str]:
        return list(self.counts)

    def lives(self, name: str | None = None) -> list[InstanceLife]:
        """Every recorded instance life (of the class named `name`), ended ones first."""
        if self._lives is None:
            self._lives = self._fetch_lives() if self._fetch_lives is not None else []
        if name is None:
            return list(self._lives)
        return [life for life in self._lives if life.name == name]

    def events(self, name: str | None = None) -> list[tuple[float, str, str, int, int]]:
        """(time, "created" | "destroyed" | "lost" | "tracked", class name, id, size) for every
        creation and destruction, in time order (events in one clock tick keep their order)."""
        events: list[tuple[float, str, str, int, int]] = []
        for life in self.lives(name):
            start = "tracked" if life.adopted else "created"
            events.append((life.created, start, life.name, life.id, life.size))
            if life.ended is not None:
                events.append((life.ended, life.end, life.name, life.id, life.size))
        events.sort(key=lambda event: event[0])
        return events

    def summary(self) -> str:
        lines = ["class" + " " * 38 + "created  destroyed       live       peak"]
        for name, counts in self.counts.items():
            lines.append(
                f"  {_trunc(name, 40):<40} {counts.created:>9,} {counts.destroyed:>10,} "
                f"{counts.live:>10,} {counts.peak:>10,}"
            )
        for snapshot in self.snapshots:
            lines.append("")
            lines.extend(_snapshot_lines(snapshot, self.classes))
        return "\n".join(lines)

    def print_summary(self, file: IO[str] | None = None) -> None:
        print(self.summary(), file=file if file is not None else sys.stdout)

    def __repr__(self) -> str:
        return self.summary()

    def dump(self, path: str | Path) -> None:
        """Writes counts, snapshots and lives as JSON (format memhound-class-stats, version 1)."""
        stacks: dict[tuple[Frame, ...], int] = {(): 0}
        names = {name: i for i, name in enumerate(self.counts)}

        def stack_index(trace: tuple[Frame, ...]) -> int:
            return stacks.setdefault(trace, len(stacks))

        def life_row(life: InstanceLife) -> list[Any]:
            names.setdefault(life.name, len(names))
            return [
                names[life.name],
                life.id,
                life.size,
                life.created,
                life.ended,
                _END_KINDS.index(life.end),
                life.adopted,
                stack_index(life.trace),
            ]

        lives = [life_row(life) for life in self.lives()]
        snapshots = [
            {
                "time": snap.time,
                "description": snap.description,
                "classes": [[s.name, s.live, s.total_size] for s in snap.classes.values()],
                "instances": [life_row(life) for life in snap.instances],
                "unverified": snap.unverified,
            }
            for snap in self.snapshots
        ]
        document = {
            "format": DUMP_FORMAT,
            "version": DUMP_VERSION,
            "clock_resolution": self.clock_resolution,
            "names": list(names),
            "counts": [
                [name, c.created, c.destroyed, c.live, c.peak] for name, c in self.counts.items()
            ],
            "snapshots": snapshots,
            "lives": lives,
            "stacks": [[[f.filename, f.lineno, f.function] for f in trace] for trace in stacks],
        }
        try:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(document, handle, separators=(",", ":"))
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> ClassStats:
        """Reads a file written by dump(); a corrupt or foreign file raises CaptureError."""
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
        except OSError as exc:
            raise CaptureError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CaptureError(f"{path} is not a ClassTracker dump (not JSON: {exc})") from None
        try:
            return _stats_from_document(document)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise CaptureError(f"{path} is not a valid ClassTracker dump ({exc})") from None


def load_class_stats(path: str | Path) -> ClassStats:
    """Reads what ClassStats.dump() wrote; a corrupt or foreign file raises CaptureError."""
    return ClassStats.load(path)


def _stats_from_document(document: Any) -> ClassStats:
    if not isinstance(document, dict) or document.get("format") != DUMP_FORMAT:
        raise ValueError(f"its format is not {DUMP_FORMAT!r}")
    if document.get("version") != DUMP_VERSION:
        raise ValueError(f"version {document.get('version')!r}, this memhound reads {DUMP_VERSION}")
    names = [str(name) for name in document["names"]]
    stacks = [
        tuple(Frame(str(f), int(line), str(fn)) for f, line, fn in trace)
        for trace in document["stacks"]
    ]

    def life_of(row: list[Any]) -> InstanceLife:
        name, ident, size, created, ended, end, adopted, stack = row
        return InstanceLife(
            names[name],
            int(ident),
            int(size),
            float(created),
            None if ended is None else float(ended),
            _END_KINDS[end],
            bool(adopted),
            stacks[stack],
        )

    counts = {
        str(name): ClassCounts(int(a), int(b), int(c), int(d))
        for name, a, b, c, d in document["counts"]
    }
    snapshots = [
        ClassSnapshot(
            float(snap["time"]),
            str(snap["description"]),
            {
                str(n): ClassSummary(str(n), int(live), int(total))
                for n, live, total in snap["classes"]
            },
            tuple(life_of(row) for row in snap["instances"]),
            int(snap["unverified"]),
        )
        for snap in document["snapshots"]
    ]
    lives = [life_of(row) for row in document["lives"]]
    return ClassStats(counts, snapshots, float(document["clock_resolution"]), _lives=lives)


@dataclass
class _Group:
    """One track_class() call (the class and its subclasses) or one track_object() name."""

    id: int
    name: str
    cls: type | None
    trace: bool
    log_level: int | None = None
    subclasses: list[type] = field(default_factory=list)


class ClassTracker:
    """Tracks every instance of the classes given to track_class(): each creation and
    destruction with its time, id and size (and allocation stack with trace=True), exactly, from
    every thread, for classes with __slots__, without __weakref__, and subclasses of built-ins.
    It never holds a reference to a tracked instance. Use it as a context manager, or call
    detach_all(), to put the classes back as they were."""

    def __init__(self) -> None:
        self._groups: dict[int, _Group] = {}
        self._by_class: dict[type, _Group] = {}
        self._objects_by_name: dict[str, _Group] = {}
        self._snapshots: list[ClassSnapshot] = []
        self._stacks: dict[int, tuple[Frame, ...]] = {}
        self._lock = threading.RLock()
        self._periodic: tuple[threading.Thread, threading.Event] | None = None
        # Every group this tracker made, for the finalizer (it must not refer to self).
        self._group_ids: list[int] = []
        self._finalizer = weakref.finalize(self, _release_groups, self._group_ids)

    # ---- what to track ---------------------------------------------------------------------

    def track_class(
        self, cls: type, trace: bool = False, name: str | None = None, *, log: bool | int = False
    ) -> None:
        """Tracks every instance of cls (and of its subclasses that exist now) created from now
        on. trace=True records each instance's allocation stack. log=True logs each creation and
        destruction to the `memhound.objects` logger at DEBUG; log=<level> at that level."""
        _check_class(cls, "track_class")
        level = _log_level(log)
        with self._lock:
            group = self._by_class.get(cls)
            if group is not None:
                if group.trace != bool(trace):
                    raise UsageError(
                        f"{_class_name(cls)} is tracked already with trace={group.trace}; "
                        "detach_class() it first to change trace"
                    )
                self._set_log(group, level)
                return
            if _objects.group_of_class(cls) is not None:
                raise UsageError(f"{_class_name(cls)} is tracked by another ClassTracker")
            group = _Group(
                _objects.add_group(bool(trace)), name or _class_name(cls), cls, bool(trace)
            )
            self._add_group(group)
            self._by_class[cls] = group
            _objects.track_class(cls, group.id)
            for sub in _subclasses(cls):
                if sub in self._by_class or _objects.group_of_class(sub) is not None:
                    continue  # tracked on its own (by this tracker or another): left as it is
                _objects.track_class(sub, group.id)
                group.subclasses.append(sub)
            self._set_log(group, level)

    def track_object(self, obj: object, name: str | None = None) -> None:
        """Tracks one existing instance (of a class defined in Python) until it is destroyed,
        counted under `name` (default: its class's name)."""
        if isinstance(obj, type):
            raise UsageError(f"track_object() needs an instance; use track_class({obj.__name__})")
        if not type(obj).__flags__ & _HEAPTYPE:
            raise UsageError(
                f"track_object() needs an instance of a class defined in Python, not of the "
                f"built-in {type(obj).__name__!r}: its instances are recycled by free lists"
            )
        label = name or _class_name(type(obj))
        with self._lock:
            group = self._objects_by_name.get(label)
            if group is None:
                group = _Group(_objects.add_group(False), label, None, False)
                self._add_group(group)
                self._objects_by_name[label] = group
            _objects.track_object(obj, group.id)

    def detach_class(self, cls: type) -> None:
        """Stops tracking cls: its slots are restored and its live instances forgotten (they
        still deallocate as usual). What was recorded stays in `stats`."""
        _check_class(cls, "detach_class")
        with self._lock:
            group = self._by_class.pop(cls, None)
            if group is None:
                raise UsageError(f"{_class_name(cls)} is not tracked by this ClassTracker")
            self._detach(group)

    def detach_all(self) -> None:
        """Stops periodic snapshots and tracking of every class and object."""
        self.stop_periodic_snapshots()
        with self._lock:
            for group in list(self._groups.values()):
                self._detach(group)
            self._by_class.clear()
            self._objects_by_name.clear()

    close = detach_all

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.detach_all()

    # ---- snapshots -------------------------------------------------------------------------

    def create_snapshot(self, description: str | None = None) -> ClassSnapshot:
        """Counts and sizes the live instances of every tracked class now."""
        with self._lock:
            ids = list(self._groups)
            rows, instances, unverified = _objects.snapshot(ids)
            classes: dict[str, ClassSummary] = {}
            for group_id, live, total in rows:
                name = self._groups[group_id].name
                old = classes.get(name)
                if old is not None:
                    live, total = live + old.live, total + old.total_size
                classes[name] = ClassSummary(name, live, total)
            lives = tuple(
                InstanceLife(
                    self._groups[g].name,
                    address,
                    size,
                    created,
                    None,
                    "alive",
                    False,
                    self._trace(stack),
                )
                for g, address, size, created, stack in instances
            )
            text = (
                description if description is not None else f"snapshot {len(self._snapshots) + 1}"
            )
            snapshot = ClassSnapshot(_objects.now(), text, classes, lives, unverified)
            self._snapshots.append(snapshot)
            return snapshot

    def start_periodic_snapshots(self, interval: float = 1.0) -> None:
        """Takes a snapshot every `interval` seconds from a daemon thread (restarts if running)."""
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise UsageError(f"interval must be a positive number of seconds, not {interval!r}")
        self.stop_periodic_snapshots()
        stop = threading.Event()
        thread = threading.Thread(
            target=self._take_periodic,
            args=(float(interval), stop),
            name="memhound-class-snapshots",
            daemon=True,
        )
        self._periodic = (thread, stop)
        thread.start()

    def stop_periodic_snapshots(self) -> None:
        periodic, self._periodic = self._periodic, None
        if periodic is not None:
            thread, stop = periodic
            stop.set()
            if thread is not threading.current_thread():
                thread.join()

    def _take_periodic(self, interval: float, stop: threading.Event) -> None:
        while not stop.wait(interval):
            self.create_snapshot(f"periodic snapshot {len(self._snapshots) + 1}")

    # ---- reading ---------------------------------------------------------------------------

    @property
    def stats(self) -> ClassStats:
        """Counts, snapshots and (on first use of .lives()) every instance's life, as of now."""
        with self._lock:
            counts: dict[str, ClassCounts] = {}
            for group in self._groups.values():
                c = ClassCounts(*_objects.counts(group.id))
                old = counts.get(group.name)
                if old is not None:
                    c = ClassCounts(
                        old.created + c.created,
                        old.destroyed + c.destroyed,
                        old.live + c.live,
                        max(old.peak, c.peak),
                    )
                counts[group.name] = c
            ids = list(self._groups)
            return ClassStats(
                counts,
                list(self._snapshots),
                _objects.clock_resolution(),
                _fetch_lives=lambda: self._lives(ids),
            )

    def lifetime(self, obj: object) -> InstanceLife | None:
        """The life of a tracked instance (or of the last tracked instance whose id was the given
        int): when and where it was created, whether it is alive. None when it is not tracked."""
        address = obj if isinstance(obj, int) and not isinstance(obj, bool) else id(obj)
        with self._lock:
            entry = _objects.live_entry(address)
            if entry is not None and entry[0] in self._groups:
                group, created, size, stack, adopted = entry
                return InstanceLife(
                    self._groups[group].name,
                    address,
                    size,
                    created,
                    None,
                    "alive",
                    adopted,
                    self._trace(stack),
                )
            if not isinstance(obj, int):
                return None
            ended = [life for life in self._lives(list(self._groups)) if life.id == address]
            return max(ended, key=lambda life: life.created) if ended else None

    def instances(self, cls: type | str) -> list[Any]:
        """The live tracked instances of a class (or track_object name), for a debugging session:
        the list holds them until you drop it. Found through the collector's lists."""
        with self._lock:
            if isinstance(cls, str):
                ids = [g.id for g in self._groups.values() if g.name == cls]
            else:
                _check_class(cls, "instances")
                group = self._by_class.get(cls)
                ids = [group.id] if group is not None else []
            if not ids:
                raise UsageError(f"{_short(cls)} is not tracked by this ClassTracker")
            return _objects.live_objects(ids)

    def __repr__(self) -> str:
        with self._lock:
            if not self._groups:
                return "<ClassTracker: nothing tracked>"
            parts = []
            for group in self._groups.values():
                created, destroyed, live, _ = _objects.counts(group.id)
                parts.append(
                    f"{group.name}: {live:,} live ({created:,} created, {destroyed:,} destroyed)"
                )
            return "<ClassTracker " + "; ".join(parts) + ">"

    # ---- internals -------------------------------------------------------------------------

    def _add_group(self, group: _Group) -> None:
        self._groups[group.id] = group
        self._group_ids.append(group.id)

    def _set_log(self, group: _Group, level: int | None) -> None:
        group.log_level = level
        if level is None:
            _LOGGED.pop(group.id, None)
        else:
            _LOGGED[group.id] = (group.name, level)
            _objects.set_event_callback(_log_event)
        _objects.set_logging(group.id, level is not None)

    def _detach(self, group: _Group) -> None:
        _LOGGED.pop(group.id, None)
        _objects.detach_group(group.id)

    def _trace(self, stack: int) -> tuple[Frame, ...]:
        if stack == 0:
            return ()
        trace = self._stacks.get(stack)
        if trace is None:
            trace = tuple(Frame(*frame) for frame in _objects.stack(stack))
            self._stacks[stack] = trace
        return trace

    def _lives(self, ids: Sequence[int]) -> list[InstanceLife]:
        with self._lock:
            lives = []
            for start, end, kind, adopted, group, address, size, stack in _objects.lives(list(ids)):
                lives.append(
                    InstanceLife(
                        self._groups[group].name,
                        address,
                        size,
                        start,
                        None if end < 0 else end,
                        _END_KINDS[kind],
                        adopted,
                        self._trace(stack),
                    )
                )
            return lives


def _release_groups(group_ids: list[int]) -> None:
    """A dropped (or, at exit, any) tracker: its classes are put back and its records freed."""
    for group in group_ids:
        _LOGGED.pop(group, None)
        _objects.detach_group(group)
    _objects.forget_groups(group_ids)


def _log_event(kind: int, group: int, address: int, size: int, lifetime: float) -> None:
    """The core's callback for logged groups: runs inside tp_alloc or tp_free, with numbers only
    (the object is never handed to Python code). stacklevel points the record at the line that
    created the instance or dropped its last reference."""
    target = _LOGGED.get(group)
    if target is None:
        return
    name, level = target
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.isEnabledFor(level):
        return
    event = "created" if kind == 0 else "destroyed"
    extra = {
        "memhound_event": event,
        "memhound_class": name,
        "memhound_id": address,
        "memhound_size": size,
    }
    if kind == 0:
        logger.log(
            level, "created %s id=%#x size=%d B", name, address, size, extra=extra, stacklevel=2
        )
    else:
        logger.log(
            level,
            "destroyed %s id=%#x size=%d B after %.3f s",
            name,
            address,
            size,
            lifetime,
            extra=extra,
            stacklevel=2,
        )


def _check_class(cls: object, what: str) -> None:
    if not isinstance(cls, type):
        raise UsageError(f"{what}() needs a class, not {type(cls).__name__} {_short(cls)}")
    if not cls.__flags__ & _HEAPTYPE:
        raise UsageError(
            f"{what}() cannot track the built-in type {cls.__name__!r}: its instances are "
            f"allocated and recycled outside its slots; track a subclass of it instead"
        )


def _log_level(log: object) -> int | None:
    if log is False or log is None:
        return None
    if log is True:
        return logging.DEBUG
    if isinstance(log, int) and log > 0:
        return log
    if isinstance(log, str) and isinstance(logging.getLevelName(log.upper()), int):
        return int(logging.getLevelName(log.upper()))
    raise UsageError(f"log must be True, False or a logging level, not {log!r}")


def _subclasses(cls: type) -> Iterator[type]:
    seen: set[type] = set()
    stack = list(type.__subclasses__(cls))
    while stack:
        sub = stack.pop()
        if sub in seen or not sub.__flags__ & _HEAPTYPE:
            continue
        seen.add(sub)
        yield sub
        stack.extend(type.__subclasses__(sub))


def _class_name(cls: type) -> str:
    module = getattr(cls, "__module__", None)
    return cls.__qualname__ if module in (None, "builtins") else f"{module}.{cls.__qualname__}"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _trunc(text: str, width: int) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def _format_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _snapshot_lines(snapshot: ClassSnapshot, names: list[str]) -> list[str]:
    header = f"{_trunc(snapshot.description, 42):<42} {'live':>9} {'total':>12} {'average':>10}"
    lines = [header]
    for name in names:
        summary = snapshot.classes.get(name, ClassSummary(name, 0, 0))
        average = _format_size(summary.average_size) if summary.live else "-"
        lines.append(
            f"  {_trunc(name, 40):<40} {summary.live:>9,} {_format_size(summary.total_size):>12} "
            f"{average:>10}"
        )
    if snapshot.unverified:
        lines.append(f"  ({snapshot.unverified:,} sized from their creation record)")
    return lines
