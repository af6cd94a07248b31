"""Snapshot API: totals, census, retained sizes, largest retainers, diff, save/load, the
leak detector's node API, and that a snapshot leaves no trace in the heap it measures."""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import memhound

HOLDER: dict[str, object] = {}


class Leaf:
    def __init__(self, i: int) -> None:
        self.i = i
        self.label = f"leaf-{i}"


class Tree:
    def __init__(self, width: int) -> None:
        self.leaves = [Leaf(i) for i in range(width)]


class NewKind:
    pass


@pytest.fixture(autouse=True)
def empty_holder() -> Iterator[None]:
    HOLDER.clear()
    yield
    HOLDER.clear()


def test_totals_match_the_sum_of_object_sizes() -> None:
    snap = memhound.snapshot()
    assert snap.object_count == len(snap.object_ids()) > 1000
    assert snap.total_size == sum(snap.node_size(n) for n in range(snap.object_count))
    assert sum(row.count for row in snap.by_type()) == snap.object_count
    assert sum(row.shallow_bytes for row in snap.by_type()) == snap.total_size


def test_shallow_and_retained_size_of_a_tree() -> None:
    tree = Tree(100)
    HOLDER["tree"] = tree
    snap = memhound.snapshot()
    assert snap.shallow_size(tree) == sys.getsizeof(tree)
    own = sys.getsizeof(tree) + sys.getsizeof(tree.leaves)
    own += sum(sys.getsizeof(leaf) + sys.getsizeof(leaf.label) for leaf in tree.leaves)
    own += sum(
        sys.getsizeof(leaf.i) for leaf in tree.leaves if leaf.i > 256
    )  # small ints are shared
    assert snap.retained_size(tree) == own
    assert snap.retained_size(tree.leaves[0]) == sys.getsizeof(tree.leaves[0]) + sys.getsizeof(
        "leaf-0"
    )


def test_census_rows_and_limit() -> None:
    HOLDER["tree"] = Tree(500)
    rows = memhound.snapshot().by_type()
    leaf = next(row for row in rows if row.type == f"{__name__}.Leaf")
    assert leaf.count == 500
    assert leaf.shallow_bytes == 500 * sys.getsizeof(HOLDER["tree"].leaves[0])  # type: ignore[attr-defined]
    assert leaf.retained_bytes >= leaf.shallow_bytes
    assert [r.shallow_bytes for r in rows] == sorted((r.shallow_bytes for r in rows), reverse=True)
    assert len(memhound.snapshot().by_type(3)) == 3


def test_largest_lists_the_big_retainer_with_its_path() -> None:
    HOLDER["big"] = Tree(20000)
    # 20, not 5: the heap counts native buffers, and numpy arrays of the worker's other tests
    # can outweigh the tree
    top = memhound.snapshot().largest(20)
    assert len(top) == 20
    assert [r.retained_bytes for r in top] == sorted((r.retained_bytes for r in top), reverse=True)
    tree_row = next(r for r in top if r.type == f"{__name__}.Tree")
    assert str(tree_row.path) == f"{__name__}.HOLDER['big']"
    assert all(r.type != "module" for r in top)


def test_diff_by_address_counts_new_objects_by_type() -> None:
    before = memhound.snapshot()
    HOLDER["new"] = [NewKind() for _ in range(1000)]
    after = memhound.snapshot()
    diff = after.diff(before)
    assert diff.identity == "address"
    row = next(r for r in diff.rows if r.type == f"{__name__}.NewKind")
    assert (row.new_count, row.gone_count) == (1000, 0)
    assert row.new_bytes == 1000 * sys.getsizeof(HOLDER["new"][0])  # type: ignore[index]
    new_types = {after.node_type(n) for n in diff.new_nodes}
    assert f"{__name__}.NewKind" in new_types


def test_diff_with_the_tracer_uses_sequence_numbers_and_sites(tmp_path: Path) -> None:
    with memhound.Tracker(str(tmp_path / "trace.bin")):
        before = memhound.snapshot()
        HOLDER["new"] = [NewKind() for _ in range(300)]
        after = memhound.snapshot()
    diff = after.diff(before)
    assert diff.identity == "sequence"
    row = next(r for r in diff.rows if r.type == f"{__name__}.NewKind")
    assert row.new_count == 300
    assert row.site is not None and "test_snapshot.py" in row.site


def test_node_api_for_the_leak_detector() -> None:
    tree = Tree(3)
    HOLDER["tree"] = tree
    snap = memhound.snapshot()
    node = snap.node_of(tree.leaves[1])
    assert node is not None
    assert snap.node_type(node) == f"{__name__}.Leaf"
    assert snap.node_of_allocation(snap.node_address(node)) == node
    assert snap.node_object(node) is tree.leaves[1]
    path = snap.path_to_node(node)
    assert path is not None and str(path) == f"{__name__}.HOLDER['tree'].leaves[1]"
    assert (path.root_kind, path.root_label) == ("module", __name__)
    assert [(s.edge_kind, s.label) for s in path.steps] == [
        ("module_global", "HOLDER"),
        ("dict_key", "'tree'"),
        ("attribute", "leaves"),
        ("index", "1"),
    ]


def test_unreachable_nodes_and_cycle_of_garbage() -> None:
    gc.disable()
    try:
        ring = [Leaf(1)]
        ring.append(ring)  # type: ignore[arg-type]
        ring_id = id(ring)
        del ring
        snap = memhound.snapshot()
        ids = snap.object_ids()
        node = ids.index(ring_id)
        assert node in snap.unreachable_nodes()
        assert snap.path_to_node(node) is None
        cycle = snap.cycle_of(node)
        assert cycle is not None and [(s.edge_kind, s.label) for s in cycle] == [("index", "1")]
        assert snap.node_object(node) is not None
    finally:
        gc.collect()
        gc.enable()


def test_node_object_of_a_freed_object_is_none() -> None:
    HOLDER["gone"] = Leaf(5)
    snap = memhound.snapshot()
    node = snap.node_of(HOLDER["gone"])
    assert node is not None
    HOLDER.clear()
    assert snap.node_object(node) is None


def test_object_created_after_the_snapshot_is_an_error() -> None:
    snap = memhound.snapshot()
    with pytest.raises(memhound.MemhoundError, match="not in the snapshot"):
        snap.retained_size(Leaf(9))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    HOLDER["tree"] = Tree(50)
    snap = memhound.snapshot()
    node = snap.node_of(HOLDER["tree"].leaves[7])  # type: ignore[attr-defined]
    assert node is not None
    live_path = str(snap.path_to_node(node))
    file = tmp_path / "heap.snap"
    snap.save(file)
    loaded = memhound.load_snapshot(file)
    assert not loaded.live
    assert (loaded.object_count, loaded.total_size, loaded.edge_count) == (
        snap.object_count,
        snap.total_size,
        snap.edge_count,
    )
    assert loaded.by_type() == snap.by_type()
    assert str(loaded.path_to_node(node)) == live_path == f"{__name__}.HOLDER['tree'].leaves[7]"
    assert loaded.node_retained_size(node) == snap.node_retained_size(node)
    with pytest.raises(memhound.MemhoundError, match="loaded snapshot"):
        loaded.path_to(HOLDER["tree"])


@pytest.mark.parametrize("damage", ["flip", "truncate", "foreign"])
def test_corrupt_snapshot_file_is_rejected_with_the_offset(tmp_path: Path, damage: str) -> None:
    file = tmp_path / "heap.snap"
    memhound.snapshot().save(file)
    data = bytearray(file.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) // 3]
    else:
        data = bytearray(b"PK\x03\x04 not a snapshot at all")
    file.write_bytes(bytes(data))
    with pytest.raises(memhound.CaptureError, match="offset"):
        memhound.load_snapshot(file)


def test_missing_snapshot_file_is_a_capture_error(tmp_path: Path) -> None:
    with pytest.raises(memhound.CaptureError, match="missing.snap"):
        memhound.load_snapshot(tmp_path / "missing.snap")


# ---- the walk leaves no trace --------------------------------------------------------------


class Inline:
    def __init__(self, i: int) -> None:
        self.a = i
        self.b = [i]


def materialized(obj: object) -> bool:
    """Whether the instance __dict__ exists, asked without creating it."""
    return any(type(r) is dict for r in gc.get_referents(obj))


@pytest.fixture
def gc_off() -> Iterator[None]:
    """No automatic collection while a test compares collector statistics."""
    gc.disable()
    yield
    gc.enable()


def test_walk_leaves_refcounts_gc_state_and_instance_dicts_unchanged(
    tmp_path: Path, gc_off: None
) -> None:
    inline = [Inline(i) for i in range(200)]
    assert not any(materialized(obj) for obj in inline)
    sample = stable_refcounts(gc.get_objects()[::97]) + inline + [obj.b for obj in inline]
    refcounts = [sys.getrefcount(obj) for obj in sample]
    enabled, threshold = gc.isenabled(), gc.get_threshold()
    collections = [s["collections"] for s in gc.get_stats()]
    older_counts = gc.get_count()[1:]

    HOLDER["inline"] = inline
    snap = memhound.snapshot().compute()
    explained = [str(memhound.explain(obj.b, snap)) for obj in inline[:20]]
    assert explained[3] == f"{__name__}.HOLDER['inline'][3].b"
    snap.largest(5)
    snap.save(tmp_path / "s.snap")
    HOLDER.clear()
    del snap

    assert [sys.getrefcount(obj) for obj in sample] == refcounts
    assert gc.isenabled() == enabled and gc.get_threshold() == threshold
    assert [s["collections"] for s in gc.get_stats()] == collections
    assert gc.get_count()[1:] == older_counts
    assert not any(materialized(obj) for obj in inline)


def stable_refcounts(objects: list[object]) -> list[object]:
    """The objects whose counts hold still for a moment: pytest-xdist's own thread runs beside
    the test, and the counts of objects it uses come and go."""
    before = [sys.getrefcount(obj) for obj in objects]
    time.sleep(0.05)
    return [obj for obj, count in zip(objects, before) if sys.getrefcount(obj) == count]


def order_in_generation(generation: int, wanted: list[object]) -> list[int]:
    """ids of `wanted` in the order the collector's list of `generation` holds them."""
    ids = {id(obj) for obj in wanted}
    return [id(obj) for obj in gc.get_objects(generation=generation) if id(obj) in ids]


def test_walk_leaves_the_collector_lists_linked_as_they_were(gc_off: None) -> None:
    # The walk keeps node ids in the GC headers meanwhile; every link and flag must be back. Only
    # the test's own objects are compared: another thread may free objects of its own meanwhile.
    pairs = [(i, str(i)) for i in range(100)]
    old = [[i] for i in range(1000)]
    gc.collect()  # all to the oldest list; the tuples of atomic values are no longer tracked
    atomic = [{"n": i} for i in range(100)]  # dicts of atomic values start untracked
    young = [[i] for i in range(1000)]  # consecutive in the youngest list
    assert not any(gc.is_tracked(obj) for obj in pairs + atomic)
    before = [order_in_generation(0, young), order_in_generation(2, old)]  # type: ignore[arg-type]

    HOLDER["kept"] = [pairs, atomic, young, old]
    snap = memhound.snapshot()
    assert snap.node_of(atomic[5]) is not None and snap.node_of(pairs[5]) is not None
    del snap
    again = memhound.snapshot()  # an id left in a header would pass for one of this walk's
    assert all(again.shallow_size(obj) == sys.getsizeof(obj) for obj in pairs + atomic)
    del again

    assert [order_in_generation(0, young), order_in_generation(2, old)] == before  # type: ignore[arg-type]
    assert not any(gc.is_tracked(obj) for obj in pairs + atomic)
    del young[::2], old[::2]  # unlinking from the middle of a list follows the _gc_prev links
    assert order_in_generation(0, young) == before[0][1::2]  # type: ignore[arg-type]
    assert order_in_generation(2, old) == before[1][1::2]  # type: ignore[arg-type]
    gc.collect()
    assert order_in_generation(2, young) == before[0][1::2]  # type: ignore[arg-type]


def test_walk_leaves_the_permanent_generation_linked(gc_off: None) -> None:
    items = [[i] for i in range(1000)]
    gc.freeze()  # everything tracked moves to the permanent generation
    try:
        assert memhound.snapshot().node_of(items[3]) is not None
    finally:
        gc.unfreeze()
    order = order_in_generation(2, items)  # type: ignore[arg-type]
    assert order == [id(obj) for obj in items]
    del items[::2]  # unlinking follows the _gc_prev links the walk put back
    assert order_in_generation(2, items) == order[1::2]  # type: ignore[arg-type]
    gc.collect()


def test_a_local_held_once_by_a_running_generator_is_one_node() -> None:
    def running() -> Iterator[int]:
        local = "held once".upper()  # a new str: one reference, the frame's: a root
        # The generator's traversal visits the same reference while the frame runs.
        yield memhound.snapshot().object_ids().count(id(local))

    assert next(running()) == 1


DROPPED: list[list[int]] = []


class Dropper:
    """A __sizeof__ in Python that frees a tracked object, which unlinks it from its list."""

    def __sizeof__(self) -> int:
        if DROPPED:
            DROPPED.pop()
        return object.__sizeof__(self)


def test_python_sizeof_runs_after_the_walk_put_the_headers_back(gc_off: None) -> None:
    DROPPED[:] = [[i] for i in range(100)]
    droppers = [Dropper() for _ in range(40)]
    HOLDER["droppers"] = droppers
    snap = memhound.snapshot()
    assert len(DROPPED) == 60
    assert snap.shallow_size(droppers[0]) == sys.getsizeof(droppers[0])
    gc.collect()
    assert len(gc.get_objects()) > 1000


def test_snapshot_keeps_the_collector_state_and_collects_only_when_asked(gc_off: None) -> None:
    collections = [s["collections"] for s in gc.get_stats()]
    memhound.snapshot()
    assert not gc.isenabled()
    assert [s["collections"] for s in gc.get_stats()] == collections
    memhound.snapshot(collect=True)
    assert [s["collections"] for s in gc.get_stats()] != collections
    gc.enable()
    memhound.snapshot()
    assert gc.isenabled()


def test_snapshot_memory_per_object_is_small() -> None:
    snap = memhound.snapshot()
    assert snap.memory_bytes() / snap.object_count <= 40
    assert os.fspath(repr(snap)).startswith("<memhound.Snapshot live")
