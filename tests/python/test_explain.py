"""memhound.explain(): every root kind and every edge label, and the cycle-only case."""

from __future__ import annotations

import builtins
import ctypes
import gc
import threading
import types
from collections.abc import Iterator
from typing import ClassVar

import pytest

import memhound

# Objects under test hang off this module global, so their paths start at this module.
HOLDER: dict[str, object] = {}


class Node:
    def __init__(self, name: str) -> None:
        self.name = name
        self.parent: object = None


class Slotted:
    __slots__ = ("value",)


class Registry:
    entries: ClassVar[dict[str, object]] = {}


@pytest.fixture(autouse=True)
def empty_holder() -> Iterator[None]:
    HOLDER.clear()
    yield
    HOLDER.clear()
    Registry.entries.clear()


def kinds(explanation: memhound._explain.Explanation) -> list[str]:
    return [step.edge_kind for step in explanation.steps]


def test_module_global_dict_key_index_and_attribute() -> None:
    HOLDER["user-7"] = [Node("a"), Node("b"), Node("c"), Node("d")]
    HOLDER["user-7"][3].parent = Node("target")
    e = memhound.explain(HOLDER["user-7"][3].parent)
    assert str(e) == f"{__name__}.HOLDER['user-7'][3].parent"
    assert e.root_kind == "module"
    assert kinds(e) == ["module_global", "dict_key", "index", "attribute"]
    assert [s.type_name for s in e.steps][-1] == f"{__name__}.Node"
    assert e.retained_size >= e.shallow_size > 0


def test_materialized_instance_dict_is_an_attribute() -> None:
    owner = Node("owner")
    vars(owner)["payload"] = ["materialized"]  # creates the instance __dict__
    HOLDER["owner"] = owner
    e = memhound.explain(owner.payload)
    assert str(e).endswith("HOLDER['owner'].payload")
    assert kinds(e)[-1] == "attribute"


def test_slot_tuple_index_and_set_member() -> None:
    slotted = Slotted()
    slotted.value = ("x", ["in tuple"])
    HOLDER["slots"] = slotted
    assert str(memhound.explain(slotted.value[1])).endswith("HOLDER['slots'].value[1]")
    assert kinds(memhound.explain(slotted.value))[-1] == "slot"
    member = frozenset({"m"})
    HOLDER["set"] = {member}
    e = memhound.explain(member)
    assert kinds(e)[-1] == "set_member"
    assert str(e).endswith("HOLDER['set']{<frozenset>}")


def test_closure_cell_defaults_and_kwdefaults() -> None:
    def make() -> types.FunctionType:
        payload = ["captured"]

        def on_done() -> int:
            return len(payload)

        return on_done  # type: ignore[return-value]

    HOLDER["callback"] = make()
    e = memhound.explain(HOLDER["callback"].__closure__[0].cell_contents)  # type: ignore[attr-defined]
    assert (
        "<closure of test_closure_cell_defaults_and_kwdefaults.<locals>.make.<locals>.on_done> cell 'payload'"
        in str(e)
    )
    assert kinds(e)[-2:] == ["closure_cell", "cell_contents"]

    def with_defaults(a: int, b: list[str] = ["default"], *, c: dict[str, int] = {"k": 1}) -> None:  # noqa: B006
        return None

    HOLDER["defaults"] = with_defaults
    e = memhound.explain(with_defaults.__defaults__[0])  # type: ignore[index]
    assert str(e).endswith(
        "> <defaults of test_closure_cell_defaults_and_kwdefaults.<locals>.with_defaults> 'b'"
    )
    assert kinds(e)[-1] == "default"
    e = memhound.explain(with_defaults.__kwdefaults__["c"])  # type: ignore[index]
    assert kinds(e)[-1] == "kwdefault" and e.steps[-1].label == "c"


def test_class_dict_entry() -> None:
    Registry.entries["k"] = ["registered"]
    e = memhound.explain(Registry.entries["k"])
    assert str(e) == f"{__name__}.Registry.entries['k']"
    assert kinds(e) == ["module_global", "class_dict", "dict_key"]


def test_bound_method_self_and_func() -> None:
    def handler(self: object) -> None:
        return None

    listener = Node("listener")
    HOLDER["listeners"] = [types.MethodType(handler, listener)]
    e = memhound.explain(listener)
    assert str(e).endswith("HOLDER['listeners'][0].__self__")
    assert kinds(e)[-1] == "bound_self"
    assert kinds(memhound.explain(handler))[-1] == "bound_func"


def test_traceback_and_frame_local() -> None:
    def fail() -> None:
        evidence = ["kept by the traceback"]
        raise RuntimeError(str(len(evidence)))

    try:
        fail()
    except RuntimeError as exc:
        HOLDER["error"] = exc
    tb = HOLDER["error"].__traceback__  # type: ignore[attr-defined]
    assert kinds(memhound.explain(tb))[-1] == "traceback"
    frame_locals = tb.tb_next.tb_frame.f_locals
    e = memhound.explain(frame_locals["evidence"])
    assert "traceback" in kinds(e) and kinds(e)[-1] == "local"
    assert str(e).endswith("> test_traceback_and_frame_local.<locals>.fail() local 'evidence'")
    del tb, frame_locals


def test_generator_frame_local() -> None:
    def produce() -> Iterator[int]:
        pending = ["generator state"]
        yield len(pending)

    gen = produce()
    next(gen)
    HOLDER["gen"] = gen
    e = memhound.explain(gen.gi_frame.f_locals["pending"])
    assert kinds(e)[-1] == "gen_frame"
    assert str(e).endswith(
        "HOLDER['gen'] > test_generator_frame_local.<locals>.produce() local 'pending'"
    )


def test_thread_local_storage() -> None:
    storage = threading.local()
    storage.session = ["per-thread"]
    HOLDER["tls"] = storage
    e = memhound.explain(storage.session)
    assert "tls" in kinds(e)
    assert str(e).endswith("HOLDER['tls'] > <thread-local storage>['session']")


def test_frame_root_of_another_thread_names_the_thread() -> None:
    ready, done = threading.Event(), threading.Event()
    shared: list[object] = []

    def run() -> None:
        history = [Node(str(i)) for i in range(20)]
        shared.append(history[12])
        ready.set()
        done.wait()

    worker = threading.Thread(target=run, name="worker")
    worker.start()
    ready.wait()
    try:
        e = memhound.explain(shared.pop())
        assert e.root_kind == "frame"
        assert (
            str(e)
            == "Thread 'worker' > test_frame_root_of_another_thread_names_the_thread.<locals>.run() local 'history'[12]"
        )
    finally:
        done.set()
        worker.join()


def test_builtins_root() -> None:
    builtins.memhound_test_value = ["in builtins"]  # type: ignore[attr-defined]
    try:
        e = memhound.explain(builtins.memhound_test_value)  # type: ignore[attr-defined]
        assert e.root_kind == "builtins"
        assert str(e) == "builtins.memhound_test_value"
    finally:
        del builtins.memhound_test_value  # type: ignore[attr-defined]


def test_external_root_is_a_reference_held_outside_the_heap() -> None:
    held = Node("held by C")
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(held))
    try:
        snap = memhound.snapshot()
        path = snap.path_to(held)
        assert path is not None
        # The test's own local `held` is a frame root, preferred over the C reference.
        assert path.root_kind == "frame"
        e = memhound.explain(held)
        assert e.root_kind == "external"
        assert str(e) == f"<{__name__}.Node held outside the heap>"
    finally:
        ctypes.pythonapi.Py_DecRef(ctypes.py_object(held))


def test_kept_only_by_a_reference_cycle() -> None:
    gc.disable()
    try:
        a = Node("a")
        a.parent = Node("b")
        a.parent.parent = a  # type: ignore[attr-defined]
        e = memhound.explain(a)
        assert e.root_kind is None and e.kept_by_cycle
        assert (
            str(e)
            == f"kept only by a reference cycle: <{__name__}.Node>.parent.parent (back to itself)"
        )
        assert kinds(e) == ["attribute", "attribute"]
        assert e.retained_size == 2 * e.shallow_size
        del a
    finally:
        gc.enable()


def test_object_missing_from_the_snapshot_is_an_error() -> None:
    snap = memhound.snapshot()
    later = Node("made after the snapshot")
    with pytest.raises(memhound.MemhoundError, match="not in the snapshot"):
        memhound.explain(later, snap)
