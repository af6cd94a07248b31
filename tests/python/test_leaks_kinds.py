"""Leak-kind classification on fabricated retention paths (no tracing, no snapshot)."""

from __future__ import annotations

import pytest

from memhound._leaks._kinds import Retention, Step, classify
from memhound._leaks._model import KIND_ORDER, order_kinds


def path(root_kind: str, *steps: tuple[str, str, str], root: str = "app") -> Retention:
    return Retention(root_kind, root, tuple(Step(*step) for step in steps))


def kinds_of(retention: Retention) -> list[str]:
    return order_kinds(classify(retention))


def test_module_global_list_is_global_only():
    retention = path("module", ("module_global", "AUDIT", "list"), ("index", "12", "dict"))
    assert kinds_of(retention) == ["global"]


def test_closure_cell_ranks_before_global():
    retention = path(
        "module",
        ("module_global", "_timers", "dict"),
        ("dict_key", "3", "function"),
        ("closure_cell", "data", "cell"),
        ("cell_contents", "data", "list"),
    )
    kinds = kinds_of(retention)
    assert kinds[0] == "closure"
    assert "global" in kinds


def test_default_argument_through_defaults():
    retention = path(
        "module",
        ("module_global", "handler", "function"),
        ("default", "0", "list"),
        ("index", "4", "bytes"),
    )
    assert kinds_of(retention)[0] == "default_argument"
    assert "default_argument" in kinds_of(path("module", ("kwdefault", "seen", "set")))


def test_class_attribute():
    retention = path(
        "module", ("module_global", "Widget", "type"), ("class_dict", "instances", "list")
    )
    assert kinds_of(retention) == ["class_attribute", "global"]


def test_thread_local_storage_and_thread_frames():
    tls = path("module", ("module_global", "_state", "_thread._local"), ("tls", "rows", "list"))
    assert kinds_of(tls)[0] == "thread_local"
    frame = path("frame", ("local", "history", "list"), root="Thread 'worker' frame run()")
    assert kinds_of(frame) == ["thread_local"]


def test_frame_locals_reached_through_a_traceback():
    retention = path(
        "module",
        ("module_global", "ERRORS", "list"),
        ("index", "0", "ValueError"),
        ("traceback", "__traceback__", "traceback"),
        ("attribute", "tb_frame", "frame"),
        ("local", "big", "bytearray"),
    )
    kinds = kinds_of(retention)
    assert kinds[0] == "traceback"
    assert kinds == ["traceback", "global"]


def test_lru_cache_wrapper_and_cache_names():
    lru = path(
        "module",
        ("module_global", "lookup", "functools._lru_cache_wrapper"),
        ("other", "cache", "dict"),
    )
    assert "cache" in kinds_of(lru)
    memo = path("module", ("module_global", "_MEMO", "dict"), ("dict_key", "'k'", "str"))
    assert "cache" in kinds_of(memo)
    plain = path("module", ("module_global", "ITEMS", "dict"), ("dict_key", "'k'", "str"))
    assert "cache" not in kinds_of(plain)


@pytest.mark.parametrize("callback", ["method", "functools.partial", "function"])
def test_callbacks_held_in_a_container_are_listeners(callback: str):
    retention = path(
        "module",
        ("module_global", "bus", "Bus"),
        ("attribute", "handlers", "list"),
        ("index", "7", callback),
        ("bound_self", "__self__", "Form"),
    )
    assert kinds_of(retention)[0] == "listener"


def test_a_function_held_by_an_attribute_is_not_a_listener():
    retention = path("module", ("module_global", "app", "App"), ("attribute", "run", "function"))
    assert "listener" not in kinds_of(retention)


def test_asyncio_task_on_the_path():
    retention = path(
        "module",
        ("module_global", "LOOP", "_UnixSelectorEventLoop"),
        ("attribute", "_scheduled", "list"),
        ("index", "0", "TimerHandle"),
        ("attribute", "_callback", "method"),
        ("bound_self", "__self__", "_asyncio.Task"),
        ("gen_frame", "cr_frame", "coroutine"),
    )
    assert kinds_of(retention)[0] == "task"


def test_external_root_alone_gives_no_kind():
    assert classify(path("external", ("other", "x", "dict"))) == set()


def test_order_kinds_is_most_specific_first_and_refuses_unknown_kinds():
    assert order_kinds({"global", "resource", "cache"}) == ["resource", "cache", "global"]
    assert len(KIND_ORDER) == 12
    with pytest.raises(ValueError):
        order_kinds({"leaky"})


def test_types_back_up_generic_edge_labels():
    generic = path(
        "module",
        ("module_global", "_state", "_thread._local"),
        ("attribute", "memo", "dict"),
    )
    assert "thread_local" in kinds_of(generic)
    cell = path("module", ("module_global", "f", "function"), ("other", "0", "cell"))
    assert "closure" in kinds_of(cell)
    class_attr = path("module", ("module_global", "Widget", "type"), ("attribute", "seen", "list"))
    assert "class_attribute" in kinds_of(class_attr)
    instance_attr = path("module", ("module_global", "app", "App"), ("attribute", "seen", "list"))
    assert "class_attribute" not in kinds_of(instance_attr)


def test_a_callback_held_by_c_code_is_a_listener():
    held = Retention("external", "0x7f00", (Step("bound_self", "__self__", "Job"),), "method")
    assert kinds_of(held) == ["listener"]
    assert classify(Retention("external", "0x7f00", (), "dict")) == set()


def test_handler_lists_are_listeners():
    retention = path(
        "module",
        ("module_global", "log", "logging.Logger"),
        ("attribute", "handlers", "list"),
        ("index", "3", "logging.StreamHandler"),
    )
    assert kinds_of(retention)[0] == "listener"


def test_context_variables_are_thread_local_state():
    held = Retention("external", "ctx", (Step("other", "?", "hamt"),), "_contextvars.Context")
    assert kinds_of(held) == ["thread_local"]
