"""Bounded containers on a retention path: growth through one that has not reached its bound
is a cache filling up, which stops by itself, not a leak.

Recognised bounds, read from the live objects along the path:
- a functools.lru_cache wrapper with a maxsize (`cache_info()`); `functools.cache` and
  `lru_cache(maxsize=None)` are unbounded and stay `cache` leaks;
- a collections.deque with a maxlen;
- an object with a length and a whole-number capacity attribute (`maxsize`, `capacity`,
  `max_size`, `maxlen`, `limit`, ...): the cache classes of libraries and programs
  (SQLAlchemy's LRUCache, cachetools' caches). Such caches often prune in batches past their
  capacity (LRUCache keeps up to 1.5 times it), so they count as filling up to twice it;
- a module-level dict whose module holds its limit in a constant named after it, the way the
  standard library bounds its caches (`re._cache` and `re._MAXCACHE`, `re._cache2` and
  `re._MAXCACHE2`): the constant's name is the dict's name with `max` added.
Objects held only through weak containers (WeakValueDictionary, WeakSet) never reach a path:
weak references are not strong edges.
"""

from __future__ import annotations

import collections
import inspect
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bound:
    """A bounded container on the path: what it is, its entries now, and its limit."""

    container: str
    entries: int
    limit: int
    slack: float = 1.0  # how far past the limit it may go before it prunes

    @property
    def filling(self) -> bool:
        return self.entries <= self.limit * self.slack

    def describe(self) -> str:
        return f"{self.container}: {self.entries} of {self.limit} entries, stops at its bound"


def bound_on_path(
    objects: Sequence[Any], root_kind: str, root_label: str, first_label: str | None
) -> Bound | None:
    """The first bounded container among the path's objects (root first), or None."""
    for obj in objects:
        found = _bound_of(obj)
        if found is not None:
            return found
    if root_kind == "module" and first_label is not None:
        return _module_cache_bound(root_label, first_label)
    return None


def _bound_of(obj: Any) -> Bound | None:
    if type(obj).__name__ == "_lru_cache_wrapper" and hasattr(obj, "cache_info"):
        info = obj.cache_info()
        if info.maxsize is None:
            return None
        name = getattr(obj, "__qualname__", "?")
        module = getattr(obj, "__module__", None)
        where = f"{module}.{name}" if module else name
        return Bound(f"lru_cache {where}", info.currsize, info.maxsize)
    if isinstance(obj, collections.deque) and obj.maxlen is not None:
        return Bound(f"deque(maxlen={obj.maxlen})", len(obj), obj.maxlen)
    return _capacity_bound(obj)


CAPACITY_NAMES = ("maxsize", "max_size", "capacity", "maxlen", "max_len", "max_entries", "limit")
CAPACITY_SLACK = 2.0


def _capacity_bound(obj: Any) -> Bound | None:
    cls = type(obj)
    plain = cls.__module__ == "builtins" or isinstance(obj, type | types.ModuleType)
    if plain or not hasattr(cls, "__len__"):
        return None
    for name in CAPACITY_NAMES:
        limit = _attribute(obj, name)
        if type(limit) is int and limit > 0:
            try:
                entries = len(obj)
            except Exception:  # noqa: BLE001 - a user's __len__ may fail; then no bound
                return None
            where = f"{cls.__module__}.{cls.__qualname__}"
            return Bound(f"{where} ({name}={limit})", entries, limit, CAPACITY_SLACK)
    return None


def _attribute(obj: Any, name: str) -> object:
    """The attribute when the object or its class defines it (never through __getattr__,
    which may compute or fetch anything), else None."""
    try:
        inspect.getattr_static(obj, name)
        return getattr(obj, name)
    except Exception:  # noqa: BLE001 - a property of user code may raise anything
        return None


def _module_cache_bound(module_name: str, global_name: str) -> Bound | None:
    module = sys.modules.get(module_name)
    cache = getattr(module, global_name, None)
    if not isinstance(cache, dict):
        return None
    wanted = _limit_name(global_name)
    for name, value in vars(module).items():
        if _limit_name_of(name) == wanted and type(value) is int and value > 0:
            return Bound(
                f"{module_name}.{global_name} (limit {module_name}.{name})", len(cache), value
            )
    return None


def _limit_name(global_name: str) -> str:
    return global_name.lower().lstrip("_")


def _limit_name_of(constant: str) -> str | None:
    """`_MAXCACHE2` -> 'cache2'; None for a name without `max`."""
    lowered = constant.lower().lstrip("_")
    if not constant.isupper() or "max" not in lowered:
        return None
    return lowered.replace("max_", "", 1).replace("_max", "", 1).replace("max", "", 1).strip("_")
