"""memhound.ClassTracker: exact creation and destruction counts on known classes (plain,
__slots__ without __weakref__, built-in subclasses, existing subclasses, copies), under threads,
never keeping an instance alive, detach, traces, logging, dumps, bad input, periodic snapshots."""

from __future__ import annotations

import copy
import gc
import inspect
import json
import logging
import pickle
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest

import memhound
from memhound import _core

HERE = Path(__file__).name


class Plain:
    def __init__(self, value: int) -> None:
        self.value = value
        self.label = f"plain-{value}"


class Slotted:  # no __weakref__, no __dict__
    __slots__ = ("a", "b")

    def __init__(self, a: int) -> None:
        self.a = a
        self.b = None


class Mapping(dict):
    pass


class Sequence(list):
    pass


class Base:
    pass


class Child(Base):  # exists before Base is tracked
    pass


class GrandChild(Child):
    pass


def line_of(marker: str) -> int:
    """The line of this file that contains `marker` (a creation site the tests name)."""
    for number, text in enumerate(Path(__file__).read_text().splitlines(), start=1):
        if marker in text and "line_of(" not in text:
            return number
    raise AssertionError(marker)


@pytest.fixture
def tracker():
    with memhound.ClassTracker() as tracker:
        yield tracker


def counts(tracker: memhound.ClassTracker, name: str) -> tuple[int, int, int]:
    c = tracker.stats.counts[name]
    return c.created, c.destroyed, c.live


def name_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


# ---- exact counts ----------------------------------------------------------------------------


def test_plain_class_counts_are_exact(tracker) -> None:
    tracker.track_class(Plain)
    kept = [Plain(i) for i in range(300)]
    for i in range(700):
        Plain(i)
    assert counts(tracker, name_of(Plain)) == (1000, 700, 300)
    snap = tracker.create_snapshot("kept 300")
    summary = snap.classes[name_of(Plain)]
    assert summary.live == 300
    assert summary.total_size >= 300 * sys.getsizeof(kept[0])
    assert summary.average_size == summary.total_size / 300
    del kept
    assert counts(tracker, name_of(Plain)) == (1000, 1000, 0)
    assert tracker.create_snapshot().classes[name_of(Plain)].live == 0


def test_snapshot_sizes_are_asizesof_sizes(tracker) -> None:
    tracker.track_class(Plain, name="plain")
    tracker.track_class(Mapping, name="map", trace=True)
    shared = list(range(100))
    kept = [Plain(i) for i in range(20)]
    for obj in kept:
        obj.shared = shared  # counted once, in the first instance that reaches it
    mapping = Mapping(payload="x" * 1000)
    snap = tracker.create_snapshot()
    assert snap.classes["plain"].total_size == memhound.asizeof(*kept)
    assert snap.classes["map"].total_size == memhound.asizeof(mapping)
    [instance] = snap.instances
    assert instance.id == id(mapping) and instance.size == memhound.asizeof(mapping)


def test_slots_without_weakref(tracker) -> None:
    assert not hasattr(Slotted(1), "__weakref__")
    tracker.track_class(Slotted)
    kept = [Slotted(i) for i in range(50)]
    [Slotted(i) for i in range(25)]
    assert counts(tracker, name_of(Slotted)) == (75, 25, 50)
    assert tracker.create_snapshot().classes[name_of(Slotted)].live == 50
    del kept


def test_subclasses_of_dict_and_list(tracker) -> None:
    tracker.track_class(Mapping)
    tracker.track_class(Sequence)
    d = Mapping(a=1, b=2)
    s = Sequence([1, 2, 3])
    clone = copy.copy(d)  # built through dict's own paths
    Mapping({"x": 1})
    Sequence(range(10))
    assert counts(tracker, name_of(Mapping)) == (3, 1, 2)
    assert counts(tracker, name_of(Sequence)) == (2, 1, 1)
    snap = tracker.create_snapshot()
    assert snap.classes[name_of(Mapping)].total_size >= sys.getsizeof(d) + sys.getsizeof(clone)
    assert snap.classes[name_of(Sequence)].total_size >= sys.getsizeof(s)
    del d, s, clone
    assert counts(tracker, name_of(Mapping))[2] == 0
    assert counts(tracker, name_of(Sequence))[2] == 0


def test_existing_subclasses_count_for_the_tracked_class(tracker) -> None:
    tracker.track_class(Base)
    objs = [Base(), Child(), GrandChild(), Child()]
    assert counts(tracker, name_of(Base)) == (4, 0, 4)
    del objs
    assert counts(tracker, name_of(Base)) == (4, 4, 0)


def test_copies_and_unpickled_instances_are_seen(tracker) -> None:
    tracker.track_class(Plain)
    original = Plain(1)
    copied = copy.copy(original)  # object.__new__ through copyreg, no __init__
    loaded = pickle.loads(pickle.dumps(original))
    assert counts(tracker, name_of(Plain)) == (3, 0, 3)
    del original, copied, loaded
    assert counts(tracker, name_of(Plain)) == (3, 3, 0)


def test_specialized_call_sites_are_invalidated(tracker) -> None:
    class Warm:
        def __init__(self) -> None:
            self.x = 1

    def make() -> Warm:
        return Warm()

    for _ in range(2000):  # 3.13 specializes this call to CALL_ALLOC_AND_ENTER_INIT
        make()
    tracker.track_class(Warm)
    for _ in range(100):
        make()
    assert counts(
        tracker, "test_class_tracker.test_specialized_call_sites_are_invalidated.<locals>.Warm"
    ) == (100, 100, 0)


def test_four_threads_give_exact_counts(tracker) -> None:
    class Work:
        def __init__(self, n: int) -> None:
            self.n = n

    tracker.track_class(Work, name="Work")
    kept: list[list[Work]] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def run(index: int) -> None:
        start.wait()
        for i in range(20_000):
            w = Work(i)
            if i % 10 == 0:
                kept[index].append(w)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts(tracker, "Work") == (80_000, 72_000, 8_000)
    assert tracker.create_snapshot().classes["Work"].live == 8_000
    kept.clear()
    assert counts(tracker, "Work") == (80_000, 80_000, 0)


# ---- never keeps an instance alive; detach -----------------------------------------------------


def test_no_instance_is_kept_alive(tracker) -> None:
    tracker.track_class(Plain, trace=True)
    obj = Plain(1)
    ref = weakref.ref(obj)
    refcount = sys.getrefcount(obj)
    tracker.create_snapshot()
    assert tracker.lifetime(obj) is not None
    _ = tracker.stats.lives()
    assert sys.getrefcount(obj) == refcount
    del obj
    assert ref() is None

    tracker.track_class(Slotted)
    Slotted(1)
    gc.collect()
    assert not [o for o in gc.get_objects() if type(o) is Slotted]


def test_detach_restores_the_class_and_live_instances_still_die() -> None:
    class Temp:
        def __init__(self) -> None:
            self.data = list(range(5))

    plain_alloc = _core.objects.group_of_class(Temp)
    assert plain_alloc is None
    tracker = memhound.ClassTracker()
    tracker.track_class(Temp, name="Temp")
    survivor = Temp()
    ref = weakref.ref(survivor)
    tracker.detach_class(Temp)
    assert _core.objects.group_of_class(Temp) is None
    for _ in range(100):
        Temp()
    assert tracker.stats.counts["Temp"].created == 1
    del survivor  # created while tracked, freed after: through the original slots
    gc.collect()
    assert ref() is None
    # and the class can be tracked again
    tracker.track_class(Temp, name="Temp")
    Temp()
    assert tracker.stats.counts["Temp"].created == 2
    tracker.detach_all()
    with pytest.raises(memhound.UsageError, match="not tracked"):
        tracker.detach_class(Temp)


def test_a_dropped_tracker_puts_its_classes_back() -> None:
    class Dropped:
        pass

    tracker = memhound.ClassTracker()
    tracker.track_class(Dropped)
    assert _core.objects.group_of_class(Dropped) is not None
    del tracker
    gc.collect()
    assert _core.objects.group_of_class(Dropped) is None


def test_a_class_is_tracked_by_one_tracker_at_a_time(tracker) -> None:
    class Shared:
        pass

    tracker.track_class(Shared)
    with (
        memhound.ClassTracker() as other,
        pytest.raises(memhound.UsageError, match="another ClassTracker"),
    ):
        other.track_class(Shared)


def test_resurrected_instances_are_not_destroyed(tracker) -> None:
    saved: list[object] = []

    class Phoenix:
        def __del__(self) -> None:
            if not saved:
                saved.append(self)

    tracker.track_class(Phoenix, name="Phoenix")
    Phoenix()
    assert counts(tracker, "Phoenix") == (1, 0, 1)
    saved.clear()  # __del__ runs once: now it really goes
    assert counts(tracker, "Phoenix") == (1, 1, 0)


def test_class_reassignment(tracker) -> None:
    class Tracked:
        pass

    class Also:
        pass

    class Untracked:
        pass

    tracker.track_class(Tracked, name="Tracked")
    tracker.track_class(Also, name="Also")
    obj = Tracked()
    # CPython refuses a class whose deallocator (tp_free) differs: the tracker's hook does
    with pytest.raises(TypeError, match="deallocator differs"):
        obj.__class__ = Untracked
    obj.__class__ = Also  # both tracked: the instance still counts where it was created
    snap = tracker.create_snapshot()
    assert snap.classes["Tracked"].live == 1 and snap.unverified == 0
    del obj
    assert counts(tracker, "Tracked") == (1, 1, 0)
    assert counts(tracker, "Also") == (0, 0, 0)


def test_later_subclasses_are_not_tracked(tracker) -> None:
    class Early:
        pass

    tracker.track_class(Early, name="Early")

    class Late(Early):
        pass

    Late()
    Early()
    assert counts(tracker, "Early") == (1, 1, 0)


def test_track_object(tracker) -> None:
    class Lone:
        pass

    obj = Lone()
    other = Lone()
    tracker.track_object(obj, name="the one")
    tracker.track_object(obj, name="the one")  # twice: tracked once
    assert counts(tracker, "the one") == (1, 0, 1)
    life = tracker.lifetime(obj)
    assert life is not None and life.adopted and life.alive
    assert tracker.lifetime(other) is None
    ident = id(obj)
    del obj
    assert counts(tracker, "the one") == (1, 1, 0)
    ended = tracker.lifetime(ident)
    assert ended is not None and ended.end == "destroyed" and ended.lifetime >= 0
    del other


# ---- traces, logging -----------------------------------------------------------------------------


def test_trace_names_the_creating_line(tracker) -> None:
    tracker.track_class(Plain, trace=True)

    def build() -> Plain:
        return Plain(7)  # creation site: build

    obj = build()
    life = tracker.lifetime(obj)
    assert life is not None
    top = life.trace[0]
    assert top.filename.endswith(HERE)
    assert top.lineno == line_of("creation site: build")
    assert top.function.endswith("build")
    assert life.trace[1].function == "test_trace_names_the_creating_line"
    snap = tracker.create_snapshot()
    [instance] = [i for i in snap.instances if i.id == id(obj)]
    assert instance.trace == life.trace
    assert str(top) == f"{top.filename}:{top.lineno} in {top.function}"


def test_logging_of_creations_and_destructions(tracker, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="memhound.objects")
    tracker.track_class(Mapping, log=True)
    tracker.track_class(Sequence, log=logging.INFO)
    tracker.track_class(Slotted)  # not logged
    d = Mapping(a=1)  # logged creation
    ident = id(d)
    Slotted(1)
    del d  # logged destruction
    Sequence()
    records = [r for r in caplog.records if r.name == "memhound.objects"]
    assert [(r.memhound_event, r.memhound_class) for r in records] == [
        ("created", name_of(Mapping)),
        ("destroyed", name_of(Mapping)),
        ("created", name_of(Sequence)),
        ("destroyed", name_of(Sequence)),
    ]
    created, destroyed = records[0], records[1]
    assert created.levelno == logging.DEBUG and records[2].levelno == logging.INFO
    assert created.memhound_id == ident and created.memhound_size > 0
    assert f"id={ident:#x}" in created.getMessage()
    assert created.getMessage().startswith(f"created {name_of(Mapping)}")
    assert destroyed.getMessage().startswith(f"destroyed {name_of(Mapping)}")
    # the records point at the line that created and the one that dropped the instance
    assert created.filename == HERE and created.lineno == line_of("# logged creation")
    assert destroyed.lineno == line_of("# logged destruction")


def test_logging_keeps_the_exception_being_handled(tracker, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="memhound.objects")
    tracker.track_class(Plain, log=True)
    try:
        raise ValueError("outer")
    except ValueError:
        Plain(1)
        assert sys.exc_info()[0] is ValueError
    assert len([r for r in caplog.records if r.name == "memhound.objects"]) == 2


def test_logging_can_be_turned_off_and_filtered(tracker, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="memhound.objects")
    tracker.track_class(Plain, log=True)
    tracker.track_class(Plain, log=False)
    Plain(1)
    assert not [r for r in caplog.records if r.name == "memhound.objects"]
    tracker.track_class(Plain, log="info")
    logging.getLogger("memhound.objects").setLevel(logging.WARNING)
    try:
        Plain(2)
    finally:
        logging.getLogger("memhound.objects").setLevel(logging.NOTSET)
    assert not [r for r in caplog.records if r.name == "memhound.objects"]


# ---- stats, dumps, periodic snapshots -------------------------------------------------------------


def test_stats_summary_and_events(tracker) -> None:
    tracker.track_class(Plain, name="plain")
    before = time.monotonic()
    kept = [Plain(i) for i in range(3)]
    Plain(99)
    tracker.create_snapshot("three")
    stats = tracker.stats
    text = stats.summary()
    assert "plain" in text and "three" in text
    assert repr(stats) == text
    assert "plain: 3 live (4 created, 1 destroyed)" in repr(tracker)
    events = stats.events("plain")
    assert [e[1] for e in events].count("created") == 4
    assert [e[1] for e in events].count("destroyed") == 1
    # the coarse clock lags time.monotonic() by up to a tick or so
    slack = 2 * stats.clock_resolution + 0.01
    assert all(before - slack <= e[0] <= time.monotonic() + slack for e in events)
    assert len(stats.lives("plain")) == 4
    del kept


def test_dump_and_load_round_trip(tracker, tmp_path) -> None:
    tracker.track_class(Plain, trace=True, name="plain")
    tracker.track_class(Mapping, name="map")
    kept = [Plain(i) for i in range(5)]
    Mapping()
    tracker.create_snapshot("five")
    stats = tracker.stats
    path = tmp_path / "classes.json"
    stats.dump(path)
    loaded = memhound.load_class_stats(path)
    assert loaded.counts == stats.counts
    assert loaded.snapshots == stats.snapshots
    assert loaded.lives() == stats.lives()
    assert loaded.summary() == stats.summary()
    assert memhound.ClassStats.load(path).counts == stats.counts
    del kept


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xffnot json",
        b'{"format": "memhound-class-stats", "version": 1',
        b'{"format": "something-else"}',
        b'{"format": "memhound-class-stats", "version": 99}',
        json.dumps({"format": "memhound-class-stats", "version": 1, "names": []}).encode(),
    ],
)
def test_corrupt_dump_is_one_clear_error(tmp_path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(memhound.CaptureError, match="bad.json"):
        memhound.load_class_stats(path)


def test_missing_dump_is_one_clear_error(tmp_path) -> None:
    with pytest.raises(memhound.MemhoundError, match="cannot read"):
        memhound.load_class_stats(tmp_path / "missing.json")


def test_periodic_snapshots(tracker) -> None:
    tracker.track_class(Plain, name="plain")
    kept = [Plain(i) for i in range(10)]
    tracker.start_periodic_snapshots(interval=0.02)
    deadline = time.monotonic() + 5
    while len(tracker.stats.snapshots) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    tracker.stop_periodic_snapshots()
    snapshots = tracker.stats.snapshots
    assert len(snapshots) >= 3
    assert all(s.description.startswith("periodic") for s in snapshots)
    assert all(s.classes["plain"].live == 10 for s in snapshots)
    assert [s.time for s in snapshots] == sorted(s.time for s in snapshots)
    time.sleep(0.06)
    assert len(tracker.stats.snapshots) == len(snapshots)  # stopped
    del kept


# ---- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: t.track_class(42), "needs a class, not int 42"),
        (lambda t: t.track_class(dict), "built-in type 'dict'"),
        (lambda t: t.track_class(Plain, log="loud"), "log must be"),
        (lambda t: t.track_object(5), "built-in 'int'"),
        (lambda t: t.track_object(Plain), "use track_class"),
        (lambda t: t.detach_class(Plain), "not tracked"),
        (lambda t: t.detach_class("Plain"), "needs a class"),
        (lambda t: t.start_periodic_snapshots(0), "positive number"),
        (lambda t: t.start_periodic_snapshots("1"), "positive number"),
    ],
)
def test_bad_input_is_one_clear_error(tracker, call, message: str) -> None:
    with pytest.raises(memhound.UsageError, match=message):
        call(tracker)


def test_changing_trace_needs_a_detach(tracker) -> None:
    tracker.track_class(Plain)
    with pytest.raises(memhound.UsageError, match="detach_class"):
        tracker.track_class(Plain, trace=True)


def test_pdb_friendly_text(tracker) -> None:
    tracker.track_class(Plain, trace=True, name="plain")
    obj = Plain(1)
    life = tracker.lifetime(obj)
    text = str(life)
    assert text.startswith(f"plain id={id(obj):#x}") and "alive" in text
    assert f"{HERE}:" in text
    assert inspect.isfunction(memhound.load_class_stats)


def test_instances_returns_the_live_ones_for_a_debugger(tracker) -> None:
    tracker.track_class(Plain, name="plain")
    kept = [Plain(i) for i in range(3)]
    Plain(99)
    found = tracker.instances(Plain)
    assert sorted(map(id, found)) == sorted(map(id, kept))
    assert sorted(map(id, tracker.instances("plain"))) == sorted(map(id, kept))
    del found
    with pytest.raises(memhound.UsageError, match="not tracked"):
        tracker.instances(Slotted)
    assert repr(tracker.lifetime(kept[0])) == str(tracker.lifetime(kept[0]))
