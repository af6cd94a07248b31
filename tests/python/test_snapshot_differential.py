"""snapshot() against a pure-Python reference walk (gc.get_objects() and the
gc.get_referents() closure): the same objects, each with its sys.getsizeof size."""

from __future__ import annotations

import array
import collections
import functools
import gc
import os
import subprocess
import sys
import weakref
from collections.abc import Callable, Iterator

import pytest

from memhound import snapshot

# The reference walk calls sys.getsizeof on everything reachable, which runs Python __sizeof__
# code: what other tests leave in an xdist worker (IPython's shells among them) can make that walk
# grow without end. So the comparisons run in a fresh interpreter of their own, started by
# test_in_a_fresh_interpreter.
FRESH_VARIABLE = "MEMHOUND_FRESH_DIFFERENTIAL"
fresh_only = pytest.mark.skipif(
    os.environ.get(FRESH_VARIABLE) != "1", reason="run by test_in_a_fresh_interpreter"
)

# Each builder returns the heap it adds; the test keeps it alive while comparing.
HeapBuilder = Callable[[], object]


class Plain:
    def __init__(self, i: int) -> None:
        self.i = i
        self.name = f"plain-{i}"


class Slotted:
    __slots__ = ("__weakref__", "a", "b")

    def __init__(self, i: int) -> None:
        self.a = [i, str(i)]
        self.b = (i, float(i))


class Sized:
    """A class whose __sizeof__ is Python code: sizes go through the slow path."""

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + 1000


def containers() -> object:
    untracked = {"a": 1, "b": "two"}  # atomic values: a dict the collector does not track
    return [
        untracked,
        {i: [i, (i, str(i))] for i in range(300)},
        {frozenset({1, 2}), (1, 2), "s"},
        tuple(range(50)),
        bytearray(b"x" * 1000),
        array.array("d", range(100)),
        collections.deque(range(100)),
        collections.OrderedDict((str(i), i) for i in range(20)),
    ]


def scalars() -> object:
    return [
        "ascii" * 10,
        "non-ascii é" * 10,
        "wide \U0001f600" * 5,
        2**100,
        -(2**70),
        3.25,
        b"bytes" * 7,
        complex(1, 2),
        range(5),
    ]


def instances() -> object:
    plain = [Plain(i) for i in range(200)]
    plain[0].__dict__["extra"] = 1  # a materialized instance dict
    return [plain, [Slotted(i) for i in range(100)], [Sized() for _ in range(10)]]


def code_and_frames() -> object:
    def outer(x: list[int]) -> Callable[[], int]:
        def inner() -> int:
            return len(x)

        return inner

    def generator() -> Iterator[int]:
        local = ["generator local"]
        yield len(local)

    gen = generator()
    next(gen)
    try:
        raise ValueError("kept")
    except ValueError as exc:
        error = exc
    cached = functools.lru_cache(maxsize=None)(lambda n: [n])
    cached(3)
    return [outer([1, 2, 3]), gen, error, cached, functools.partial(print, 1), Plain(1).__init__]


def weak_and_cycles() -> object:
    target = Plain(7)
    ring: list[object] = []
    ring.append(ring)
    return [weakref.ref(target), target, weakref.WeakValueDictionary({1: target}), ring]


def extension_types() -> object:
    """numpy's dtype classes: static types whose metaclass is not `type` (3.13's sys.getsizeof
    counts their GC header, unlike a static type of exactly `type`)."""
    numpy = pytest.importorskip("numpy")
    return [numpy.zeros(100), numpy.dtype("float64"), type(numpy.dtype("int32")), int, dict]


BUILDERS: dict[str, HeapBuilder] = {
    "containers": containers,
    "scalars": scalars,
    "instances": instances,
    "code_and_frames": code_and_frames,
    "weak_and_cycles": weak_and_cycles,
    "extension_types": extension_types,
}


def reference_walk() -> dict[int, tuple[type, int]]:
    """id -> (type, sys.getsizeof) for every object the collector tracks and everything they
    reach. Creates no objects but its result (the heap it measures must not change)."""
    sizes: dict[int, tuple[type, int]] = {}
    objects = gc.get_objects()
    pending = list(objects)
    own = {id(sizes), id(objects), id(pending)}
    while pending:
        obj = pending.pop()
        key = id(obj)
        if key in sizes or key in own:
            continue
        sizes[key] = (type(obj), sys.getsizeof(obj))
        pending.extend(gc.get_referents(obj))
    del objects, pending
    return sizes


@functools.cache
def type_name(cls: type) -> str:
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


@pytest.fixture
def gc_off() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.collect()
    # gc.get_objects() leaves out the frozen objects the walker counts: on 3.12 the immortal
    # tuples of the static types, which every collection of the oldest generation freezes again.
    gc.unfreeze()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


@fresh_only
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_same_objects_and_sizes_as_the_reference_walk(name: str, gc_off: None) -> None:
    heap = BUILDERS[name]()
    walked = reference_walk()
    snap = snapshot()
    expected = {key: (type_name(cls), size) for key, (cls, size) in walked.items()}
    ids = snap.object_ids()
    assert len(set(ids)) == len(ids)  # each object is one node
    found = {
        ids[node]: (snap.node_type(node), snap.node_size(node)) for node in range(snap.object_count)
    }

    missing = [key for key in expected if key not in found]
    assert missing == []
    # A running frame's temporaries die between the two walks and their memory is reused: the
    # same id with another type. There are a handful at most; every other object must agree.
    reused = {key for key in expected if found[key][0] != expected[key][0]}
    assert len(reused) <= 5, [(expected[k], found[k]) for k in reused]
    wrong = {
        key: (expected[key], found[key])
        for key in expected
        if key not in reused and found[key] != expected[key]
    }
    assert wrong == {}
    assert sum(found[k][1] for k in expected if k not in reused) == sum(
        size for k, (_, size) in expected.items() if k not in reused
    )
    # Objects made since the reference walk: its own result (the dict and the tuples and ints in it).
    result_parts = {id(walked)} | {id(k) for k in walked}
    result_parts |= {id(part) for value in walked.values() for part in (value, *value)}
    extra = [key for key in found if key not in expected and key not in result_parts]
    assert len(extra) <= 10, [found[key] for key in extra[:20]]
    assert heap is not None


@fresh_only
def test_counts_objects_the_collector_does_not_track(gc_off: None) -> None:
    holder = [{"atomic": "dict"}, "a lone string " * 3, 12345678901234567890, 2.5]
    assert not gc.is_tracked(holder[0])
    snap = snapshot()
    for obj in holder:
        node = snap.node_of(obj)
        assert node is not None
        assert snap.node_size(node) == sys.getsizeof(obj)


@fresh_only
def test_weak_references_are_not_strong_edges(gc_off: None) -> None:
    target = Plain(3)
    holder = {"ref": weakref.ref(target)}
    snap = snapshot().compute()
    ref_node = snap.node_of(holder["ref"])
    assert snap.node_of(target) not in snap._core.successors(ref_node)
    path = snap.path_to(target)
    assert path is not None and all(
        step.type_name != "weakref.ReferenceType" for step in path.steps
    )


@pytest.mark.skipif(os.environ.get(FRESH_VARIABLE) == "1", reason="already fresh")
def test_in_a_fresh_interpreter() -> None:
    env = dict(os.environ, **{FRESH_VARIABLE: "1"})
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    wrapper = f"{__file__}::test_in_a_fresh_interpreter"
    result = subprocess.run(
        [*command, __file__, "--deselect", wrapper],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout, result.stdout[-2000:]
