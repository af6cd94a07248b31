"""Leak kinds from a retention path: which mechanisms keep the leaked object alive.

The classifier reads only plain data (a root and labelled steps, as the heap snapshot reports
them), so it is tested on fabricated paths without tracing. It names every kind that applies
along the path; `_model.order_kinds` puts the most specific first. The kinds that need live
objects or the census (`resource`, `cycle`, `native`, pending `task`s) are added by the detector.

Rules, one per edge or type seen on the path:
- root: a module or builtins root -> global; a thread's frame -> thread_local (a live thread's
  frames keep it; the unit of work's own frames are gone when the detector looks); a callback
  held outside the heap (registered with atexit, signal or a C library) -> listener.
- edges: closure_cell / cell_contents -> closure; default / kwdefault -> default_argument;
  class_dict -> class_attribute; tls -> thread_local; traceback -> traceback, and so is a frame
  local reached through a frame or traceback object.
- types: an lru_cache wrapper -> cache; a name (global, attribute, key) that says cache, memo
  or registry -> cache; a name that says handlers, listeners, callbacks, subscribers,
  observers, hooks or receivers -> listener (a logging handler added per call); a bound
  method, partial or function stored in a container -> listener; an asyncio Task, a coroutine
  or async generator, or a callback scheduled on an event loop (TimerHandle) -> task; a
  contextvars Context (on the path, or the externally held root) -> thread_local. The types
  also back the edge rules when a walker labels an edge more generically: a cell -> closure,
  a threading.local -> thread_local, a traceback -> traceback, an attribute of a class (its
  owner is a type) -> class_attribute.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EDGE_KINDS: dict[str, str] = {
    "closure_cell": "closure",
    "cell_contents": "closure",
    "default": "default_argument",
    "kwdefault": "default_argument",
    "class_dict": "class_attribute",
    "tls": "thread_local",
    "traceback": "traceback",
}
ROOT_KINDS: dict[str, str] = {"module": "global", "builtins": "global", "frame": "thread_local"}
CONTAINER_EDGES = frozenset({"index", "dict_key", "set_member"})
CALLBACK_TYPES = frozenset({"method", "builtin_function_or_method", "partial", "function"})
TASK_TYPES = frozenset({"Task", "coroutine", "async_generator", "TimerHandle"})
TYPE_KINDS: dict[str, str] = {
    "_lru_cache_wrapper": "cache",
    "cell": "closure",
    "_local": "thread_local",
    "Context": "thread_local",  # contextvars: per-thread (and per-task) state
    "traceback": "traceback",
    **{name: "task" for name in TASK_TYPES},
}
CLASS_TYPES = frozenset({"type", "ABCMeta", "EnumType", "EnumMeta"})
CLASS_EDGES = frozenset({"attribute", "class_dict", "dict_key"})
FRAME_TYPES = frozenset({"frame", "traceback"})
NAMED_EDGES = frozenset({"module_global", "attribute", "slot", "class_dict", "dict_key", "tls"})
CACHE_NAME = re.compile(r"cache|memo|regist", re.IGNORECASE)
LISTENER_NAME = re.compile(
    r"handler|listener|callback|subscri|observer|hook|receiver", re.IGNORECASE
)


@dataclass(frozen=True)
class Step:
    """One step of a retention path: the edge kind followed, its label, the type reached."""

    edge_kind: str
    label: str
    type_name: str


@dataclass(frozen=True)
class Retention:
    """A retention path from a root to the leaked object."""

    root_kind: str
    root_label: str
    steps: tuple[Step, ...]
    root_type: str = ""  # type of the root object (what C code holds, for an external root)


def short_type(type_name: str) -> str:
    """'_asyncio.Task' -> 'Task', 'functools._lru_cache_wrapper' -> '_lru_cache_wrapper'."""
    return type_name.rsplit(".", 1)[-1]


def classify(retention: Retention) -> set[str]:
    """Every kind the path shows, unordered."""
    kinds: set[str] = set()
    if retention.root_kind in ROOT_KINDS:
        kinds.add(ROOT_KINDS[retention.root_kind])
    root_type = short_type(retention.root_type)
    if retention.root_kind == "external" and root_type in CALLBACK_TYPES:
        kinds.add("listener")  # a callback registered with C code (atexit, signal, a C library)
    if retention.root_kind == "external" and root_type in TYPE_KINDS:
        kinds.add(TYPE_KINDS[root_type])  # e.g. the thread's contextvars.Context
    through_frame = False
    owner = ""  # type of the object the step starts from ("" for the root)
    for step in retention.steps:
        kinds |= _step_kinds(step, owner, through_frame)
        owner = short_type(step.type_name)
        through_frame = through_frame or owner in FRAME_TYPES
    return kinds


def _step_kinds(step: Step, owner: str, through_frame: bool) -> set[str]:
    kinds: set[str] = set()
    type_name = short_type(step.type_name)
    if step.edge_kind in EDGE_KINDS:
        kinds.add(EDGE_KINDS[step.edge_kind])
    if type_name in TYPE_KINDS:
        kinds.add(TYPE_KINDS[type_name])
    if step.edge_kind == "local" and through_frame:
        kinds.add("traceback")
    if owner in CLASS_TYPES and step.edge_kind in CLASS_EDGES:
        kinds.add("class_attribute")
    if step.edge_kind in NAMED_EDGES and CACHE_NAME.search(step.label):
        kinds.add("cache")
    if step.edge_kind in NAMED_EDGES and LISTENER_NAME.search(step.label):
        kinds.add("listener")
    if type_name in CALLBACK_TYPES and step.edge_kind in CONTAINER_EDGES:
        kinds.add("listener")
    return kinds
