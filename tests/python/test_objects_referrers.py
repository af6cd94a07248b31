"""memhound.refcount() and memhound.referrers(): counts and labelled referrers on known heaps."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

import pytest

import memhound

HOLDER: dict[str, object] = {}  # objects under test hang off this module global
THREAD = f"Thread '{threading.current_thread().name}'"


class Node:
    def __init__(self, name: str) -> None:
        self.name = name
        self.payload: object = None


class Target:
    pass


@pytest.fixture(autouse=True)
def empty_holder() -> Iterator[None]:
    HOLDER.clear()
    yield
    HOLDER.clear()


def by_label(result: memhound._objects._referrers.Referrers) -> dict[str, object]:
    return {item.label: item for item in result}


# ---- refcount ---------------------------------------------------------------------------------


def test_refcount_counts_the_callers_references_only() -> None:
    obj = Target()
    assert memhound.refcount(obj) == 1  # this variable
    pair = [obj, obj]
    HOLDER["t"] = obj
    assert memhound.refcount(obj) == 4
    assert memhound.refcount(obj) == sys.getrefcount(obj) - 1  # getrefcount counts its argument
    del pair
    assert memhound.refcount(obj) == 2


def test_refcount_of_an_immortal_object_says_so() -> None:
    if sys.version_info >= (3, 12):
        assert memhound.refcount(None) is memhound.IMMORTAL
        assert memhound.refcount(7) is memhound.IMMORTAL
        assert "immortal" in repr(memhound.refcount(None))
    else:  # 3.11 has no immortal objects: None's count is a real count
        assert isinstance(memhound.refcount(None), int)
        assert memhound.refcount(None) > 100


# ---- referrers --------------------------------------------------------------------------------


def test_dict_entry_list_item_and_attribute_are_labelled() -> None:
    target = Target()
    HOLDER["cache"] = {"user-7": target}
    HOLDER["items"] = [Node("a"), target]
    owner = Node("owner")
    owner.payload = target
    HOLDER["owner"] = owner
    result = memhound.referrers(target)
    found = by_label(result)
    cache = found[f"{__name__}.HOLDER['cache']['user-7']"]
    assert (cache.kind, cache.type_name) == ("dict_key", "dict")
    items = found[f"{__name__}.HOLDER['items'][1]"]
    assert (items.kind, items.type_name, items.size) == ("index", "list", sys.getsizeof([1, 2]))
    attribute = found[f"{__name__}.HOLDER['owner'].payload"]
    assert (attribute.kind, attribute.type_name) == ("attribute", f"{__name__}.Node")
    local = found[
        f"{THREAD} > test_dict_entry_list_item_and_attribute_are_labelled() local 'target'"
    ]
    assert local.kind == "frame"
    assert len(result) == 4


def test_an_instance_dict_is_reported_as_its_owner() -> None:
    target = Target()
    owner = Node("owner")
    vars(owner)["payload"] = target  # materializes the instance __dict__
    HOLDER["owner"] = owner
    item = by_label(memhound.referrers(target))[f"{__name__}.HOLDER['owner'].payload"]
    assert item.type_name == f"{__name__}.Node"


def make_closure(value: object) -> Callable[[], object]:
    captured = value

    def read() -> object:
        return captured

    return read


def test_closure_cell_and_frame_local() -> None:
    target = Target()
    HOLDER["reader"] = make_closure(target)

    def ask(argument: object) -> memhound._objects._referrers.Referrers:
        return memhound.referrers(argument)

    result = ask(target)
    labels = result.labels
    closure = by_label(result)[
        f"{__name__}.HOLDER['reader'] > <closure of make_closure.<locals>.read> cell 'captured'"
    ]
    assert (closure.kind, closure.type_name) == ("cell_contents", "function")  # the cell's owner
    qualname = "test_closure_cell_and_frame_local.<locals>.ask"
    assert f"{THREAD} > {qualname}() local 'argument'" in labels
    # memhound's own frames hold the object too, but are not referrers
    assert not [label for label in labels if "referrers()" in label or "snapshot()" in label]


def test_depth_lists_the_referrers_of_referrers_once() -> None:
    target = Target()
    HOLDER["a"] = [target]
    HOLDER["b"] = [target]
    result = memhound.referrers(target, depth=3)
    found = by_label(result)
    a_list = found[f"{__name__}.HOLDER['a'][0]"]
    b_list = found[f"{__name__}.HOLDER['b'][0]"]
    holder = by_label(a_list.referrers)[f"{__name__}.HOLDER['a']"]
    assert holder.type_name == "dict" and not holder.repeated  # HOLDER itself
    module = by_label(holder.referrers)[f"{__name__}.HOLDER"]
    assert module.type_name == "module"
    # HOLDER holds the list of 'b' too: listed again there, without its referrers
    again = by_label(b_list.referrers)[f"{__name__}.HOLDER['b']"]
    assert again.type_name == "dict" and again.repeated and not again.referrers
    assert "(listed above)" in repr(result)
    assert memhound.referrers(target, depth=1)[0].referrers == ()


def test_referrers_print_as_a_labelled_tree() -> None:
    target = Target()
    HOLDER["k"] = target
    text = repr(memhound.referrers(target, depth=2))
    lines = text.splitlines()
    assert lines[0] == (
        f"referrers of this {__name__}.Target ({sys.getsizeof(target)} B), 2 levels:"
    )
    assert f"  {__name__}.HOLDER['k']  [dict, " in text
    assert f"    {__name__}.HOLDER  [module, " in text
    assert str(memhound.referrers(target)) == repr(memhound.referrers(target))


def test_an_object_only_the_call_refers_to_has_no_referrers() -> None:
    result = memhound.referrers(Target())
    assert len(result) == 0
    assert repr(result).endswith(": none in the heap")


def test_many_referrers_are_counted_beyond_those_listed() -> None:
    target = Target()
    many = []
    for _ in range(150):  # (a comprehension would make `target` a closure cell on 3.11)
        many.append([target])
    HOLDER["many"] = many
    result = memhound.referrers(target)
    lists = [item for item in result if item.type_name == "list"]
    listed = memhound._objects._referrers.MAX_LISTED
    assert (len(lists), result.more) == (listed, 150 - listed)
    assert f"... {result.more} more referrers" in repr(result)


@pytest.mark.parametrize("depth", [0, -1, 1.5, "2", True])
def test_bad_depth_is_a_usage_error(depth: object) -> None:
    with pytest.raises(memhound.UsageError, match="depth must be an int of at least 1"):
        memhound.referrers(Target(), depth=depth)  # type: ignore[arg-type]
