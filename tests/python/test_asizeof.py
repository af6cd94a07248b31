"""memhound.asizeof / asizesof / asized: known graphs, policies, and agreement with Pympler."""

from __future__ import annotations

import gc
import sys
import types

import pytest

import memhound
from memhound import UsageError


def aligned(size: int) -> int:
    return (size + 7) // 8 * 8


class Plain:
    def __init__(self, index: int) -> None:
        self.name = f"plain-{index}"
        self.values = [index, index + 1000, index + 2000]
        self.meta = {"index": index, "label": str(index % 7)}


class Slotted:
    __slots__ = ("left", "right")

    def __init__(self, left: object, right: object) -> None:
        self.left = left
        self.right = right


class Tagged(dict):
    pass


def test_a_flat_list_of_strings_is_the_list_plus_each_string() -> None:
    strings = [f"string number {i}" for i in range(100)]
    expected = aligned(sys.getsizeof(strings)) + sum(aligned(sys.getsizeof(s)) for s in strings)
    assert memhound.asizeof(strings) == expected


def test_a_shared_object_is_counted_once() -> None:
    shared = "x" * 1000
    three = [shared, shared, shared]
    assert memhound.asizeof(three) == aligned(sys.getsizeof(three)) + aligned(sys.getsizeof(shared))
    first, second = memhound.asizesof([shared], [shared])
    assert second == aligned(sys.getsizeof([shared]))
    assert first + second == memhound.asizeof([shared], [shared])


def test_keys_that_are_not_strings_are_counted_once() -> None:
    key = (1, "two")
    data = {key: "value"}
    del key
    expected = sum(aligned(sys.getsizeof(o)) for o in (data, (1, "two"), 1, "two", "value"))
    assert memhound.asizeof(data) == expected


def test_exact_sizes_without_alignment() -> None:
    text = "abc"
    assert memhound.asizeof(text, align=1) == sys.getsizeof(text)
    assert memhound.asizeof(text) == aligned(sys.getsizeof(text))


def test_limit_zero_is_the_flat_size() -> None:
    data = [[1, 2], [3, 4]]
    assert memhound.asizeof(data, limit=0) == aligned(sys.getsizeof(data))
    one_level = memhound.asizeof(data, limit=1)
    assert one_level == aligned(sys.getsizeof(data)) + 2 * aligned(sys.getsizeof([1, 2]))
    assert memhound.asizeof(data) > one_level


def test_classes_and_modules_are_structure_not_data() -> None:
    holder = [Plain, types]
    flat_list = aligned(sys.getsizeof(holder))
    assert memhound.asizeof(holder) == flat_list
    assert memhound.asizeof(holder, structure=True) > flat_list + 1000
    # passed in, a class is counted all the same
    assert memhound.asizeof(Plain) > 0


def test_a_function_is_counted_without_its_globals_and_code() -> None:
    payload = list(range(1000))

    def make() -> object:
        return lambda: payload

    function = make()
    size = memhound.asizeof(function)
    assert size >= memhound.asizeof(payload) + aligned(sys.getsizeof(function))
    assert size < memhound.asizeof(payload) + 4000  # not the module's globals
    assert memhound.asizeof(function, code=True) > size


def test_instance_attributes_are_counted_without_creating_its_dict() -> None:
    item = Plain(1)
    referents_before = [type(r) for r in gc.get_referents(item)]
    size = memhound.asizeof(item)
    assert [type(r) for r in gc.get_referents(item)] == referents_before
    attributes = memhound.asizeof(item.name, item.values, item.meta)
    assert size > attributes + aligned(sys.getsizeof(item))


def test_an_instance_counts_the_attribute_values_it_keeps_outside_a_dict() -> None:
    """sys.getsizeof leaves out the values array of an instance without a __dict__; the
    allocator's own figure (tracemalloc, per instance) is what asizeof(limit=0) gives."""
    import tracemalloc

    class Three:
        def __init__(self) -> None:
            self.a, self.b, self.c = 1, 2, 3

    warm = [Three() for _ in range(100)]
    gc.disable()
    try:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        instances = [Three() for _ in range(5000)]
        allocated = tracemalloc.get_traced_memory()[0] - before - sys.getsizeof(instances)
    finally:
        tracemalloc.stop()
        gc.enable()
    assert memhound.asizeof(instances[0], limit=0, align=1) == pytest.approx(
        allocated / 5000, abs=1
    )
    assert memhound.asizeof(instances[0], limit=0) > sys.getsizeof(instances[0])
    assert warm


def test_reference_counts_are_unchanged() -> None:
    item = Plain(2)
    before = [sys.getrefcount(item), sys.getrefcount(item.values), sys.getrefcount(item.meta)]
    memhound.asized(item, detail=3)
    memhound.asizeof(item)
    after = [sys.getrefcount(item), sys.getrefcount(item.values), sys.getrefcount(item.meta)]
    assert after == before


def test_a_size_computed_in_python_is_used() -> None:
    class Reported:
        __slots__ = ()

        def __sizeof__(self) -> int:
            return 4000

    assert memhound.asizeof([Reported()]) == aligned(sys.getsizeof([None])) + aligned(
        sys.getsizeof(Reported())
    )


def test_asized_names_references_as_heap_paths_do() -> None:
    item = Plain(3)
    item.child = Plain(4)
    tree = memhound.asized(item, detail=2)
    assert tree.size == memhound.asizeof(item)
    assert tree.flat == memhound.asizeof(item, limit=0)
    names = [ref.name for ref in tree.refs]
    assert {".child", ".name", ".values", ".meta"} <= set(names)
    sizes = [ref.size for ref in tree.refs]
    assert sizes == sorted(sizes, reverse=True)
    meta = tree.get(".meta")
    assert meta is not None and meta.get("['label']") is not None
    assert meta.get("<key 'label'>") is not None
    assert tree.size == tree.flat + sum(ref.size for ref in tree.refs)
    text = repr(tree)
    assert text.splitlines()[0].startswith("test_asizeof.Plain")
    assert "    .child: test_asizeof.Plain" in text


def test_asized_detail_zero_has_no_refs() -> None:
    tree = memhound.asized({"a": [1, 2, 3]})
    assert tree.refs == []
    assert tree.size == memhound.asizeof({"a": [1, 2, 3]})


@pytest.mark.parametrize(
    "call",
    [
        lambda: memhound.asizeof([], limit=-1),
        lambda: memhound.asizeof([], align=3),
        lambda: memhound.asizesof([], align=0),
        lambda: memhound.asized([], detail=-1),
        lambda: memhound.asized([], detail="deep"),
    ],
)
def test_bad_arguments_are_usage_errors(call) -> None:
    with pytest.raises(UsageError):
        call()


def graphs() -> dict[str, object]:
    shared = "shared-string"
    return {
        "list": [1, 2.5, "three", None, True],
        "dict": {"key": [1, 2], "other": {"nested": (1, "two")}},
        "set": {1, 2, 3, "four"},
        "tuple": (1, "a", (2, "b"), [3]),
        "nested": {"rows": [{"id": i, "tags": [shared, f"t{i}"]} for i in range(200)]},
        "strings": ["ascii", "ünïcödé", "日本語", "x" * 10_000],
        "plain classes": [Plain(i) for i in range(300)],
        "slots": [Slotted(i, f"r{i}") for i in range(300)],
        "dict subclass": Tagged(a=[1, 2, 3], b="text"),
    }


@pytest.mark.parametrize("name", sorted(graphs()))
def test_agrees_with_pympler(name: str) -> None:
    pympler_asizeof = pytest.importorskip("pympler.asizeof")
    graph = graphs()[name]
    # Pympler reads each instance's __dict__, which creates it: measure the same objects after.
    theirs = pympler_asizeof.asizeof(graph)
    ours = memhound.asizeof(graph)
    assert ours == pytest.approx(theirs, rel=0.05)


def test_numpy_arrays_count_their_data_once() -> None:
    numpy = pytest.importorskip("numpy")
    pympler_asizeof = pytest.importorskip("pympler.asizeof")
    array = numpy.zeros(100_000)
    assert memhound.asizeof(array) >= array.nbytes
    assert memhound.asizeof(array) == pytest.approx(pympler_asizeof.asizeof(array), rel=0.05)
    view = array[::2]
    assert memhound.asizeof(view) == aligned(sys.getsizeof(view)) + memhound.asizeof(array)
    assert memhound.asizeof([array, view]) < memhound.asizeof(array) + 1000
