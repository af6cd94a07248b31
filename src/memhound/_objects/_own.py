"""The objects memhound's censuses leave out: its trackers, its results and their registry.

Every census walk excludes what `own_objects()` returns: each registered object that is still
alive (a SummaryTracker, show_growth's state, a Summary, SummaryDiff or Growth a census made),
with the GC-tracked parts it names, and the registry itself. The registry holds weak references
only, so it never keeps a result alive.
"""

from __future__ import annotations

import threading
import weakref
from typing import Protocol


class Owned(Protocol):
    def _own_parts(self) -> list[object]:
        """This object and the GC-tracked objects only it holds."""
        ...


class _Registry:
    __slots__ = ("_lock", "_refs")

    def __init__(self) -> None:
        self._refs: list[weakref.ref[Owned]] = []
        self._lock = threading.Lock()  # censuses in two threads: no registration lost

    def add(self, obj: Owned) -> None:
        with self._lock:
            self._refs.append(weakref.ref(obj))

    def objects(self) -> list[object]:
        with self._lock:
            self._refs[:] = [ref for ref in self._refs if ref() is not None]
            own: list[object] = [self, self._refs, *self._refs]
            for ref in self._refs:
                obj = ref()
                if obj is not None:
                    own += obj._own_parts()
            return own


_REGISTRY = _Registry()


def register(obj: Owned) -> None:
    """Leaves `obj` (and the parts it names) out of every later census while it is alive."""
    _REGISTRY.add(obj)


def own_objects() -> list[object]:
    return _REGISTRY.objects()
