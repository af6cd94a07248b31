"""memhound.gc_stats / gc_watch and memhound.pymalloc_stats on known workloads, and the parser
of sys._debugmallocstats() on the real text of CPython 3.11, 3.12 and 3.13."""

from __future__ import annotations

import gc
import json
import math
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import memhound
from memhound._runtime import _gc, _pymalloc
from memhound._runtime._gc import PauseStats
from memhound._runtime._pymalloc import parse_debug_malloc_stats, split_foreign_lines

DATA = Path(__file__).parent / "runtime_data"
VERSIONS = ("3.11.7", "3.12.1", "3.13.0")


class Node:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def clean_gc() -> Iterator[None]:
    """gc enabled, no debug flags, gc.garbage empty before and after."""
    was_enabled, flags = gc.isenabled(), gc.get_debug()
    gc.enable()
    gc.set_debug(0)
    gc.collect()
    gc.garbage.clear()
    yield
    gc.set_debug(flags)
    gc.garbage.clear()
    if not was_enabled:
        gc.disable()


def own_callbacks() -> list[object]:
    return [cb for cb in gc.callbacks if getattr(cb, "__self__", None) is _gc._MONITOR]


# ---- the collector ---------------------------------------------------------------------------


def test_cycles_raise_collections_and_collected_by_known_minimums(clean_gc: None) -> None:
    n = 30_000
    threshold0 = gc.get_threshold()[0]
    with memhound.gc_watch() as watch:
        for _ in range(n):
            Node()  # each is a cycle: only the collector frees it
        gc.collect()
    stats = watch.stats()
    assert stats.scope == "watch" and stats.duration_s is not None and stats.duration_s > 0
    # every Node adds one to generation 0's count until a collection: at least n/threshold runs
    assert stats.collections >= n // threshold0
    assert stats.generations[0].collections >= 1
    assert stats.generations[2].collections >= 1  # the gc.collect()
    assert stats.collected >= n
    assert sum(g.collected for g in stats.generations) == stats.collected
    for gen in stats.generations:
        assert gen.pauses is not None and gen.pauses.count == gen.collections
        assert sum(n for _upper, n in gen.pauses.histogram) == gen.collections
        if gen.collections:
            p = gen.pauses
            assert 0 < p.min_s <= p.median_s <= p.max_s <= p.total_s
    assert stats.generations[0].threshold == threshold0
    assert stats.pause_total_s is not None and stats.pause_total_s <= stats.duration_s
    assert own_callbacks() == []


def test_process_scope_reads_the_interpreters_counts(clean_gc: None) -> None:
    before = gc.get_stats()
    stats = memhound.gc_stats()
    after = gc.get_stats()
    assert stats.scope == "process" and stats.duration_s is None
    for gen, low, high in zip(stats.generations, before, after, strict=True):
        assert gen.pauses is None
        assert low["collections"] <= gen.collections <= high["collections"]
        assert low["collected"] <= gen.collected <= high["collected"]
    assert "since the interpreter started" in str(stats)
    assert stats.enabled is True


def test_gc_stats_inside_a_watch_gives_the_outermost_watch(clean_gc: None) -> None:
    with memhound.gc_watch() as outer:
        gc.collect()
        with memhound.gc_watch() as inner:
            gc.collect()
            assert len(own_callbacks()) == 1
            current = memhound.gc_stats()
            assert current.scope == "watch"
            assert current.generations[2].collections == outer.stats().generations[2].collections
            assert memhound.gc_stats(process=True).scope == "process"
        assert len(own_callbacks()) == 1  # the outer watch still counts
        gc.collect()
    assert own_callbacks() == []
    assert inner.stats().generations[2].collections == 1
    assert outer.stats().generations[2].collections == 3
    assert memhound.gc_stats().scope == "process"


def test_one_watch_entered_again_counts_while_entered_at_least_once(clean_gc: None) -> None:
    watch = memhound.gc_watch()
    with watch:
        with watch:
            gc.collect()
        assert watch.active and len(own_callbacks()) == 1
        gc.collect()
    assert not watch.active and own_callbacks() == []
    gc.collect()  # not counted: the watch is stopped
    assert watch.stats().generations[2].collections == 2
    with watch:  # a second period adds to the first
        gc.collect()
    assert watch.stats().generations[2].collections == 3
    assert "stopped: 3 collections" in repr(watch)


def test_an_exception_leaves_the_watch_and_removes_the_callback(clean_gc: None) -> None:
    with pytest.raises(KeyError), memhound.gc_watch():
        raise KeyError("x")
    assert own_callbacks() == []


def test_watches_in_four_threads_agree_with_the_interpreters_counts(clean_gc: None) -> None:
    """Four watches active over the same period, each thread collecting: every watch counts
    every collection once, as the interpreter does. (A gc.collect() that comes while another
    thread's collection runs returns at once: CPython collects one at a time.)"""
    watches: list[_gc.GcWatch] = []
    entered, done = threading.Barrier(5), threading.Barrier(5)

    def work() -> None:
        with memhound.gc_watch() as watch:
            watches.append(watch)
            entered.wait()
            for _ in range(20):
                for _ in range(300):
                    Node()
                gc.collect()
            done.wait()
            done.wait()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    entered.wait()
    before = gc.get_stats()
    done.wait()
    after = gc.get_stats()
    done.wait()
    for thread in threads:
        thread.join()
    assert own_callbacks() == []
    expected = [b["collections"] - a["collections"] for a, b in zip(before, after, strict=True)]
    assert expected[2] >= 20  # at least one thread's own collections ran
    for watch in watches:
        stats = watch.stats(paths=False)
        assert stats.callback_failures == 0
        counted = [g.collections for g in stats.generations]
        assert counted[2] == expected[2]
        # automatic collections may run in the instants before `before` or after `after`
        assert all(c >= e for c, e in zip(counted, expected, strict=True)), (counted, expected)


def test_the_callback_never_raises_inside_the_collector(
    clean_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def broken(*_args: object) -> None:
        raise RuntimeError("broken recorder")

    with memhound.gc_watch() as watch:
        monkeypatch.setattr(watch, "_record", broken)
        gc.collect()
        gc.collect()
        monkeypatch.undo()
        stats = watch.stats(paths=False)
    assert unraisable == []
    assert stats.callback_failures == 2
    assert "2 collections could not be recorded" in str(stats)


def test_saved_garbage_is_listed_with_its_type_and_cycle(clean_gc: None) -> None:
    gc.set_debug(gc.DEBUG_SAVEALL)
    node = Node()
    node_id = id(node)
    del node
    gc.collect()
    gc.set_debug(0)
    before = [id(obj) for obj in gc.garbage]  # ids: a list of the objects would be a root
    stats = memhound.gc_stats(garbage_limit=len(before))
    assert [id(obj) for obj in gc.garbage] == before  # put back as it was
    name = f"{__name__}.Node"
    assert stats.garbage.count == len(before) >= 1
    assert dict(stats.garbage.by_type)[name] >= 1
    (entry,) = [obj for obj in stats.garbage.objects if before[obj.index] == node_id]
    assert entry.type == name and entry.path is None
    assert entry.cycle == f"<{name}>.me (back to itself)"
    assert f"gc.garbage[{entry.index}] {name}" in str(stats)


KEPT: list[object] = []


def test_garbage_that_a_root_also_holds_gets_that_path(clean_gc: None) -> None:
    gc.set_debug(gc.DEBUG_SAVEALL)
    node = Node()
    del node
    gc.collect()
    gc.set_debug(0)
    KEPT.append(gc.garbage[-1])
    try:
        stats = memhound.gc_stats(garbage_limit=len(gc.garbage))
        entry = stats.garbage.objects[-1]
        assert entry.path == f"{__name__}.KEPT[0]"
    finally:
        KEPT.clear()


def test_a_legacy_finalizer_makes_uncollectable_garbage(clean_gc: None) -> None:
    testcapi = pytest.importorskip("_testcapi")

    @testcapi.with_tp_del
    class Legacy:
        def __tp_del__(self) -> None:
            pass

    before = memhound.gc_stats().uncollectable
    with memhound.gc_watch() as watch:
        obj = Legacy()
        obj.me = obj  # type: ignore[attr-defined]
        del obj
        gc.collect()
    watched = watch.stats()
    assert watched.uncollectable == 1 and watched.generations[2].uncollectable == 1
    assert memhound.gc_stats().uncollectable == before + 1
    assert watched.garbage.count == 1
    assert watched.garbage.objects[0].type.endswith("Legacy")
    gc.garbage[0].me = None  # let it go with the fixture's clear()


def test_garbage_limit_bounds_the_described_objects(clean_gc: None) -> None:
    gc.set_debug(gc.DEBUG_SAVEALL)
    nodes = [Node() for _ in range(30)]
    del nodes
    gc.collect()
    gc.set_debug(0)
    stats = memhound.gc_stats(garbage_limit=5, paths=False)
    assert stats.garbage.count >= 30 and len(stats.garbage.objects) == 5
    assert all(obj.path is None and obj.cycle is None for obj in stats.garbage.objects)
    assert "more" in str(stats)


def test_reports_are_json_and_read_at_a_prompt(clean_gc: None) -> None:
    with memhound.gc_watch() as watch:
        gc.collect()
    stats = watch.stats()
    data = json.loads(json.dumps(stats.to_dict()))
    assert data["scope"] == "watch" and len(data["generations"]) == len(gc.get_stats())
    assert data["generations"][2]["pauses"]["count"] == 1
    assert data["generations"][2]["pauses"]["histogram"][-1]["upper_s"] is None
    text = repr(stats)
    assert text == str(stats) and text.startswith("collector (enabled), watched for")
    assert "gen collections  collected uncollectable" in text


@pytest.mark.parametrize(
    "seconds, upper",
    [(5e-7, 1e-5), (5e-6, 1e-5), (5e-5, 1e-4), (2e-3, 1e-2), (0.5, 1.0), (150.0, math.inf)],
)
def test_pause_histogram_puts_a_pause_in_its_decade(seconds: float, upper: float) -> None:
    buckets = [0] * _gc._BUCKETS
    buckets[_gc._bucket(seconds)] += 1
    pauses = PauseStats.from_buckets(1, seconds, seconds, seconds, buckets)
    assert [bound for bound, n in pauses.histogram if n] == [upper]
    assert pauses.median_s == seconds  # one pause: min = max = median


def test_pause_median_from_the_buckets_is_within_six_percent() -> None:
    durations = [1e-5 * 1.07**k for k in range(101)]  # 10 us .. 8.7 ms, median k=50
    buckets = [0] * _gc._BUCKETS
    for d in durations:
        buckets[_gc._bucket(d)] += 1
    pauses = PauseStats.from_buckets(
        len(durations), sum(durations), max(durations), min(durations), buckets
    )
    true_median = durations[50]
    assert abs(pauses.median_s - true_median) / true_median < 0.06
    assert pauses.histogram_text() == "<100us:35 <1ms:34 <10ms:32"


# ---- pymalloc: the parser on real text --------------------------------------------------------


def read(name: str) -> str:
    return (DATA / name).read_text()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["pymalloc", "pymalloc_debug"])
def test_the_parse_accounts_for_every_byte_of_the_arenas(version: str, kind: str) -> None:
    stats = parse_debug_malloc_stats(read(f"{kind}-{version}.txt"))
    assert stats.in_use and stats.allocator == "pymalloc"
    assert stats.arenas is not None and stats.arenas.arena_size == 1 << 20
    assert stats.pool_size == 16384 and stats.small_block_threshold == 512
    assert stats.size_classes and all(
        c.block_size == 16 * (c.index + 1) for c in stats.size_classes
    )
    assert sum(c.used_bytes for c in stats.size_classes) == stats.allocated_bytes
    assert sum(c.free_bytes for c in stats.size_classes) == stats.available_bytes
    parts = (
        stats.allocated_bytes,
        stats.available_bytes,
        stats.unused_pool_bytes,
        stats.overhead_bytes,
    )
    assert sum(p or 0 for p in parts) == stats.held_bytes
    assert stats.arena_map_bytes == 655_360
    assert 0 <= (stats.fragmentation or 0) <= 1
    assert stats.freelists is not None
    assert any(f.name == "PyFloatObjects" and f.object_size == 24 for f in stats.freelists)
    assert any(f.name == "20-sized PyTupleObjects" for f in stats.freelists)


def test_the_parse_reads_each_figure_of_a_known_text() -> None:
    stats = parse_debug_malloc_stats(read("pymalloc-3.12.1.txt"))
    assert stats.arenas == _pymalloc.Arenas(2, 0, 2, 2, 1_048_576)
    assert stats.size_classes[3] == _pymalloc.SizeClass(3, 64, 13, 3236, 79)
    assert stats.size_classes[-1] == _pymalloc.SizeClass(31, 512, 1, 14, 17)
    assert len(stats.size_classes) == 31  # class 22 has no pool in use
    assert stats.size_class(368) is None
    assert (stats.allocated_bytes, stats.available_bytes) == (799_136, 371_296)
    assert (stats.unused_pools, stats.unused_pool_bytes) == (54, 884_736)
    assert (stats.pool_header_bytes, stats.quantization_bytes) == (3_456, 5_760)
    assert stats.arena_alignment_bytes == 32_768
    assert stats.held_bytes == 2_097_152 and stats.used_pools == 72
    assert stats.fragmentation == pytest.approx(1 - 799_136 / 2_097_152)
    assert stats.freelists is not None
    assert stats.freelists[0] == _pymalloc.FreeList("PyDictObjects", 14, 48, 672)
    assert "PyDictKeysObjects" not in [f.name for f in stats.freelists]  # 3.13 adds that one
    newer = parse_debug_malloc_stats(read("pymalloc-3.13.0.txt")).freelists
    assert newer is not None and newer[1].name == "PyDictKeysObjects"
    without = "".join(read("pymalloc-3.12.1.txt").partition("\n\n           14 free")[:1])
    assert parse_debug_malloc_stats(without).freelists is None
    assert "free lists" not in str(parse_debug_malloc_stats(without))


@pytest.mark.parametrize("version", VERSIONS)
def test_malloc_is_a_clear_statement_not_a_crash(version: str) -> None:
    stats = parse_debug_malloc_stats(read(f"malloc-{version}.txt"))
    assert stats.allocator == "malloc" and not stats.in_use
    assert stats.arenas is None and stats.size_classes == () and stats.fragmentation is None
    assert stats.freelists  # the object free lists are there whatever the allocator
    assert str(stats).startswith("pymalloc is not in use in this process")
    assert json.loads(json.dumps(stats.to_dict()))["in_use"] is False


def test_mimalloc_totals_are_read() -> None:
    stats = parse_debug_malloc_stats(read("mimalloc-3.13.0.txt"))
    assert stats.allocator == "mimalloc" and not stats.in_use
    assert stats.mimalloc == _pymalloc.MimallocTotals(15845, 2022280, 2022280, 4342456, 2726688)
    assert "mimalloc: 15,845 blocks" in str(stats)


def test_a_pymalloc_section_without_its_figures_is_an_error() -> None:
    text = read("pymalloc-3.12.1.txt").replace("# arenas reclaimed", "# arenas recycled")
    with pytest.raises(memhound.MemhoundError, match="missing: reclaimed"):
        parse_debug_malloc_stats(text)


def test_lines_written_by_others_are_split_off() -> None:
    stats = read("pymalloc-3.11.7.txt")
    lines = stats.splitlines(keepends=True)
    mixed = (
        "before\n" + "".join(lines[:40]) + "a warning from C\n" + "".join(lines[40:]) + "after\n"
    )
    kept, others = split_foreign_lines(mixed)
    assert kept == stats
    assert others == "before\na warning from C\nafter\n"
    assert split_foreign_lines("nothing of ours\n") == ("", "nothing of ours\n")
    # a print's text written before the statistics, its newline after them
    kept, others = split_foreign_lines("line 198" + stats + "\n")
    assert (kept, others) == (stats, "line 198\n")
    malloc = read("malloc-3.12.1.txt")
    assert split_foreign_lines("part" + malloc + "\nmore\n") == (malloc, "part\nmore\n")


# ---- pymalloc: this process -----------------------------------------------------------------


# Run in a fresh interpreter: another thread of the test process (xdist's) allocating meanwhile
# would pin the arenas that the last step expects pymalloc to give back.
FRAGMENTATION_SCRIPT = """
import sys
import memhound

assert sys.getsizeof(b"%031d" % 0) == 64
n = 200_000
start = memhound.pymalloc_stats()
if not start.in_use:
    sys.exit(3)
data = [b"%031d" % i for i in range(n)]
peak = memhound.pymalloc_stats()
survivors = data[::100]
del data
sparse = memhound.pymalloc_stats()
del survivors
empty = memhound.pymalloc_stats()

def cls(stats):
    found = stats.size_class(64)
    assert found is not None
    return found

assert cls(peak).used_blocks - cls(start).used_blocks >= n
assert cls(peak).pools >= n // (16384 // 64)
assert cls(peak).used_blocks - cls(sparse).used_blocks >= 0.95 * n
assert cls(sparse).free_blocks - cls(peak).free_blocks >= 0.95 * n
assert cls(sparse).pools >= cls(peak).pools  # no pool is empty: none is released
assert (sparse.held_bytes or 0) >= (peak.held_bytes or 0)  # nor any arena
assert (sparse.fragmentation or 0) > (peak.fragmentation or 0) + 0.3
assert empty.arenas is not None and peak.arenas is not None
assert empty.arenas.reclaimed > peak.arenas.reclaimed
assert (empty.held_bytes or 0) < (peak.held_bytes or 0)
for stats in (start, peak, sparse, empty):
    assert 0 <= (stats.fragmentation or 0) <= 1
"""


def test_small_objects_fill_their_size_class_and_freeing_them_fragments() -> None:
    """bytes of 31 characters take 64-byte blocks. Keeping 1 in 100 keeps every pool and arena;
    dropping all of them lets pymalloc give whole arenas back."""
    done = subprocess.run(
        [sys.executable, "-c", FRAGMENTATION_SCRIPT],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode == 3:
        pytest.skip("pymalloc is not in use (PYTHONMALLOC)")
    assert done.returncode == 0, done.stderr


def test_process_memory_reads_rss_and_peak() -> None:
    memory = memhound.pymalloc_stats().memory
    assert memory.rss_bytes is not None and memory.rss_bytes > 1 << 20
    assert memory.peak_rss_bytes is not None and memory.peak_rss_bytes >= memory.rss_bytes


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **env},
    )


def test_the_capture_leaves_what_other_threads_write_to_stderr_alone() -> None:
    result = run_python(
        """
        import os, sys, threading, memhound
        stop = threading.Event()
        def chatter():
            i = 0
            while not stop.is_set():
                print(f"line {i}", file=sys.stderr, flush=True)
                i += 1
            print(f"last {i}", file=sys.stderr, flush=True)
        before = os.fstat(2)
        thread = threading.Thread(target=chatter)
        thread.start()
        figures = [memhound.pymalloc_stats() for _ in range(30)]
        stop.set()
        thread.join()
        after = os.fstat(2)
        print((before.st_dev, before.st_ino) == (after.st_dev, after.st_ino),
              all(f.in_use for f in figures))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]
    lines = result.stderr.splitlines()
    last = int(lines[-1].removeprefix("last "))
    # every line the thread wrote came through once, whole, none lost to the capture
    assert sorted(lines[:-1], key=lambda s: int(s.split()[1])) == [f"line {i}" for i in range(last)]
    assert "Small block threshold" not in result.stderr


def test_the_fd2_capture_restores_stderr_and_keeps_the_programs_writes() -> None:
    """Where the interpreter's FILE writer cannot be reached, fd 2 is redirected for the call."""
    result = run_python(
        """
        import os, sys, memhound
        from memhound._runtime import _pymalloc
        _pymalloc._file_writers = lambda: None
        print("before", file=sys.stderr, end="")  # unflushed: flushed before the redirect
        before = os.fstat(2)
        stats = memhound.pymalloc_stats()
        after = os.fstat(2)
        print(" after", file=sys.stderr)
        print(stats.in_use, bool(stats.freelists),
              (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]
    assert result.stderr == "before after\n"


@pytest.mark.parametrize("route", ["file", "fd2"])
def test_the_capture_works_with_stderr_closed(route: str) -> None:
    result = run_python(
        f"""
        import os, memhound
        from memhound._runtime import _pymalloc
        if {route!r} == "fd2":
            _pymalloc._file_writers = lambda: None
        os.close(2)
        stats = memhound.pymalloc_stats()
        try:
            os.fstat(2)
            closed = False
        except OSError:
            closed = True
        print(stats.in_use, closed)
        """
    )
    assert result.stdout.split() == ["True", "True"], result.stderr


def test_pythonmalloc_malloc_is_reported_as_not_pymalloc() -> None:
    result = run_python(
        "import memhound; s = memhound.pymalloc_stats(); print(s.allocator, s.in_use); print(s)",
        PYTHONMALLOC="malloc",
    )
    assert result.returncode == 0, result.stderr
    first, statement = result.stdout.splitlines()[:2]
    assert first == "malloc False"
    assert statement.startswith("pymalloc is not in use in this process")
    assert result.stderr == ""


def test_pythonmalloc_debug_is_pymalloc_with_hooks() -> None:
    result = run_python(
        "import memhound; s = memhound.pymalloc_stats(); print(s.allocator, s.debug_hooks)",
        PYTHONMALLOC="pymalloc_debug",
    )
    assert result.stdout.split() == ["pymalloc", "True"], result.stderr


@pytest.mark.skipif(sys.version_info < (3, 13), reason="mimalloc is an allocator from 3.13")
def test_pythonmalloc_mimalloc_is_reported_with_its_totals() -> None:
    result = run_python(
        "import memhound; s = memhound.pymalloc_stats(); "
        "print(s.allocator, s.mimalloc.allocated_bytes > 0)",
        PYTHONMALLOC="mimalloc",
    )
    assert result.stdout.split() == ["mimalloc", "True"], result.stderr
