"""memhound.summary(), SummaryTracker and show_growth() on heaps whose figures are known."""

from __future__ import annotations

import gc
import io
import sys
from collections.abc import Iterator

import pytest

import memhound

KEPT: list[object] = []  # what a test keeps alive while it counts


class Foo:
    def __init__(self, i: int) -> None:
        self.i = i


@pytest.fixture(autouse=True)
def quiet_collector() -> Iterator[None]:
    """No automatic collection between two censuses: freed cyclic garbage would be a change."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    KEPT.clear()
    if was_enabled:
        gc.enable()


def fresh_class() -> type:
    class Fresh:
        __slots__ = ("n",)

        def __init__(self, n: int) -> None:
            self.n = n

    return Fresh


def test_summary_counts_every_instance_of_a_class_with_its_bytes() -> None:
    cls = fresh_class()
    KEPT.extend(cls(i) for i in range(10_000))
    s = memhound.summary()
    row = s.get(cls)
    assert row.type == f"{__name__}.fresh_class.<locals>.Fresh"
    assert row.count == 10_000
    assert row.bytes == 10_000 * sys.getsizeof(cls(0))
    assert s.get(row.type) == row  # by name too


def test_summary_counts_objects_the_collector_does_not_track() -> None:
    tracker = memhound.SummaryTracker()
    floats = [float(i) + 0.5 for i in range(5_000)]  # not GC objects
    atoms = [{"k": i} for i in range(2_000)]  # dicts of atoms: untracked GC objects
    assert not gc.is_tracked(atoms[0])
    diff = tracker.diff()
    assert diff.get(float).count_delta == 5_000
    assert diff.get(float).bytes_delta == 5_000 * sys.getsizeof(0.5)
    assert diff.get(dict).count_delta == 2_000
    assert diff.get(dict).bytes_delta == sum(sys.getsizeof(d) for d in atoms)
    assert diff.get(list).count_delta == 2
    del floats, atoms


def test_rows_are_sorted_by_bytes_and_add_up_to_the_totals() -> None:
    s = memhound.summary()
    rows = s.rows
    assert len(rows) == len(s) > 50
    assert [r.bytes for r in rows] == sorted((r.bytes for r in rows), reverse=True)
    assert s.total_count == sum(r.count for r in rows)
    assert s.total_bytes == sum(r.bytes for r in rows)
    assert len({r.type for r in rows}) == len(rows)
    assert s.get("no.such.Type") == memhound._objects._summary.SummaryRow("no.such.Type", 0, 0)


def test_summary_prints_as_a_table() -> None:
    KEPT.extend(Foo(i) for i in range(3_000))
    s = memhound.summary()
    text = repr(s)
    assert text == str(s)
    lines = text.splitlines()
    assert lines[0].startswith("memhound summary: ") and "objects" in lines[0]
    assert lines[1].split() == ["type", "count", "bytes"]
    assert len(lines) == 2 + 20 + 1  # the 20 largest types and a line saying how many more
    assert lines[-1].startswith(f"... {len(s) - 20} more types")
    foo_line = next(line for line in s.format(limit=None).splitlines() if "Foo" in line)
    assert foo_line.split()[:2] == [f"{__name__}.Foo", "3,000"]
    assert len(s.format(limit=None).splitlines()) == 2 + len(s)


def test_memhound_results_and_trackers_are_not_counted() -> None:
    # the interpreter caches a few objects on first use (print()'s keyword names on 3.11)
    memhound.show_growth(file=io.StringIO())
    tracker = memhound.SummaryTracker()
    first = memhound.summary()
    KEPT.extend([first, tracker, tracker.diff(), memhound.show_growth(file=io.StringIO())])
    second = memhound.summary()
    names = {row.type for row in second.rows}
    own = {
        f"memhound._objects.{name}"
        for name in ("_summary.Summary", "_summary.SummaryDiff", "_summary.SummaryTracker")
    }
    own |= {"memhound._objects._summary.Growth", "memhound._objects._summary._GrowthState"}
    own |= {"memhound._objects._own._Registry", "memhound._core.TypeCensus"}
    assert not names & own
    # KEPT holds memhound's own objects only: nothing new but the room KEPT's array grew by
    changes = [(row.type, row.count_delta) for row in second.diff(first).rows]
    assert changes in ([], [("list", 0)])


def test_tracker_reports_only_what_changed_since_the_last_diff() -> None:
    tracker = memhound.SummaryTracker()
    # Results are kept in variables: an assertion on `tracker.diff()` itself would hold a bound
    # method in a variable of pytest's, a new object.
    unchanged = tracker.diff()
    assert not unchanged, "nothing happened: no change"
    foos = [Foo(i) for i in range(1_000)]
    diff = tracker.diff()
    assert diff.get(Foo).count_delta == 1_000
    assert diff.get(Foo).bytes_delta == 1_000 * sys.getsizeof(foos[0])
    assert diff.get(list).count_delta == 1
    assert diff.rows[0].bytes_delta >= diff.rows[-1].bytes_delta
    assert all(row.count_delta or row.bytes_delta for row in diff.rows)
    unchanged = tracker.diff()
    assert not unchanged, "the last diff is the new baseline; the results held are not counted"
    del foos
    gone = tracker.diff()
    assert gone.get(Foo).count_delta == -1_000
    assert gone.get(list).count_delta == -1
    assert gone.count_delta < 0


def test_print_diff_writes_the_table() -> None:
    tracker = memhound.SummaryTracker()
    KEPT.extend(Foo(i) for i in range(250))
    out = io.StringIO()
    tracker.print_diff(file=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("memhound summary diff: ")
    assert lines[1].split() == ["type", "count", "bytes"]
    foo = next(line.split() for line in lines if line.startswith(f"{__name__}.Foo"))
    assert foo[1] == "+250"
    del lines, foo  # the test's own objects: a census counts them
    out = io.StringIO()
    tracker.print_diff(file=out)
    assert out.getvalue() == "memhound summary diff: no change\n"


def test_show_growth_reports_the_new_instances() -> None:
    memhound.show_growth(file=io.StringIO())  # the baseline
    KEPT.extend(Foo(i) for i in range(700))
    out = io.StringIO()
    growth = memhound.show_growth(limit=5, file=out)
    foo = growth.get(Foo)
    assert foo is not None and foo.delta == 700 and foo.count >= 700
    assert growth.rows[0] == foo  # the largest growth first
    assert len(growth.rows) <= 5
    name, count, delta = growth.rows[0]  # rows unpack like objgraph's (name, count, delta)
    assert (name, delta) == (f"{__name__}.Foo", 700)
    printed = out.getvalue().splitlines()
    assert printed[0].split() == ["type", "count", "delta"]
    assert printed[1].split() == [f"{__name__}.Foo", f"{count:,}", "+700"]
    assert str(growth) + "\n" == out.getvalue()
    assert repr(growth).startswith(f"<memhound.Growth: {len(growth)} types grew: {name} +700")
    again = memhound.show_growth(file=io.StringIO())
    assert again.get(Foo) is None, "no more Foo since the previous call"


def test_show_growth_prints_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    memhound.show_growth(file=io.StringIO())
    KEPT.extend(Foo(i) for i in range(40))
    memhound.show_growth()
    assert f"{__name__}.Foo" in capsys.readouterr().out


@pytest.mark.parametrize("limit", [0, -1, 2.5, "3", True])
def test_bad_limits_are_usage_errors(limit: object) -> None:
    with pytest.raises(memhound.UsageError, match="limit must be a positive int"):
        memhound.show_growth(limit=limit, file=io.StringIO())  # type: ignore[arg-type]
    with pytest.raises(memhound.UsageError, match="limit must be a positive int"):
        memhound.summary().format(limit=limit)  # type: ignore[arg-type]


def test_bad_arguments_are_usage_errors() -> None:
    with pytest.raises(memhound.UsageError, match="expected a type or a type name"):
        memhound.summary().get(3)  # type: ignore[arg-type]
    with pytest.raises(memhound.UsageError, match="needs an older Summary"):
        memhound.summary().diff("yesterday")  # type: ignore[arg-type]
