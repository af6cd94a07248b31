"""Leak kinds from a retention path: which mechanisms keep the leaked object alive.

The classifier reads only plain data (a root and labelled steps, as the heap snapshot reports
them), so it is tested on fabricated paths without tracing. It names every kind that applies
along the path; `_model.order_kinds` puts the most specific first. The kinds that need live
objects or the census (`resource`, `cycle`, `native`, pending `task`s) are added by the detector.

Rules, one per edge or type seen on the path:
- root: a module or builtins root -> global; a thread's frame -> thread_local (a live thread's
  frames keep it; the unit of work's own frames are gone when the detector looks).
- edges: closure_cell / cell_contents -> closure; default / kwdefault -> default_argument;
  class_dict -> class_attribute; tls -> thread_local; traceback -> traceback, and so is a frame
  local reached through a frame or traceback object.
- types: an lru_cache wrapper -> cache; a name (global, attribute, key) that says cache, memo or
  registry -> cache; a bound method, partial or function stored in a container -> listener; an
  asyncio Task or a coroutine / async generator -> task.
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
CACHE_TYPES = frozenset({"_lru_cache_wrapper"})
TASK_TYPES = frozenset({"Task", "coroutine", "async_generator"})
FRAME_TYPES = frozenset({"frame", "traceback"})
NAMED_EDGES = frozenset({"module_global", "attribute", "slot", "class_dict", "dict_key", "tls"})
CACHE_NAME = re.compile(r"cache|memo|regist", re.IGNORECASE)


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


def short_type(type_name: str) -> str:
    """'_asyncio.Task' -> 'Task', 'functools._lru_cache_wrapper' -> '_lru_cache_wrapper'."""
    return type_name.rsplit(".", 1)[-1]


def classify(retention: Retention) -> set[str]:
    """Every kind the path shows, unordered."""
    kinds: set[str] = set()
    if retention.root_kind in ROOT_KINDS:
        kinds.add(ROOT_KINDS[retention.root_kind])
    through_frame = False
    for step in retention.steps:
        kinds |= _step_kinds(step, through_frame)
        through_frame = through_frame or short_type(step.type_name) in FRAME_TYPES
    return kinds


def _step_kinds(step: Step, through_frame: bool) -> set[str]:
    kinds: set[str] = set()
    if step.edge_kind in EDGE_KINDS:
        kinds.add(EDGE_KINDS[step.edge_kind])
    if step.edge_kind == "local" and through_frame:
        kinds.add("traceback")
    type_name = short_type(step.type_name)
    if type_name in CACHE_TYPES or (
        step.edge_kind in NAMED_EDGES and CACHE_NAME.search(step.label)
    ):
        kinds.add("cache")
    if type_name in CALLBACK_TYPES and step.edge_kind in CONTAINER_EDGES:
        kinds.add("listener")
    if type_name in TASK_TYPES:
        kinds.add("task")
    return kinds
