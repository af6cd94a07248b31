"""A census of open OS and external resources: file descriptors, files, sockets, DB-API
connections, threads, subprocesses and pending asyncio tasks.

One pass over gc.get_objects() (every resource object here is GC-tracked), a per-type lookup
cached in a dict so the pass stays cheap, plus the thread list, asyncio's task set and
/proc/self/fd. Modules the program never imported are never imported here. The census keeps no
reference to the objects (it must not keep alive what it measures); resources are keyed by id(),
which the detector matches against the objects it finds in the heap snapshot.
"""

from __future__ import annotations

import _io
import dataclasses
import gc
import itertools
import os
import struct
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

FD_DIR = "/proc/self/fd"
# CPython's _PyType_PreHeaderSize: the GC header, then two pointers for a managed dict (and, from
# 3.12, for managed weak references).
_POINTER = struct.calcsize("P")
_TPFLAGS_PREHEADER = (1 << 4) | ((1 << 3) if sys.version_info >= (3, 12) else 0)
_TPFLAGS_HAVE_GC = 1 << 14


def allocation_address(obj: object) -> int:
    """The address the allocator returned for `obj`: what the tracer records for it."""
    flags = type(obj).__flags__
    preheader = (2 * _POINTER if flags & _TPFLAGS_HAVE_GC else 0) + (
        2 * _POINTER if flags & _TPFLAGS_PREHEADER else 0
    )
    return id(obj) - preheader


@dataclass(frozen=True)
class OpenResource:
    """One open resource: its type, what it is (e.g. `sqlite3.Connection ':memory:' (open)`),
    the descriptors it owns and the allocation address of its object (to find where the tracer
    saw it allocated)."""

    type_name: str
    description: str
    fds: tuple[int, ...] = ()
    address: int = 0


@dataclass
class Census:
    """Open resources at one moment, by id() of their Python object, and the open fds."""

    by_object: dict[int, OpenResource] = field(default_factory=dict)
    fds: dict[int, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Open resources by type name, plus "fd": the number of open file descriptors."""
        result: dict[str, int] = {}
        for resource in self.by_object.values():
            result[resource.type_name] = result.get(resource.type_name, 0) + 1
        result["fd"] = len(self.fds)
        return result

    def new_since(self, older: Census) -> dict[int, OpenResource]:
        """Resources open now that were not open (as the same object) in `older`."""
        return {
            key: resource
            for key, resource in self.by_object.items()
            if older.by_object.get(key) != resource
        }


def type_name(obj: object) -> str:
    kind = type(obj)
    return (
        f"{kind.__module__}.{kind.__qualname__}"
        if kind.__module__ != "builtins"
        else kind.__qualname__
    )


def open_fds() -> dict[int, str]:
    """Open file descriptors of this process and what each points to; {} where /proc is absent."""
    try:
        names = os.listdir(FD_DIR)
    except OSError:
        return {}
    fds: dict[int, str] = {}
    for name in names:
        try:
            fds[int(name)] = os.readlink(os.path.join(FD_DIR, name))
        except OSError:
            continue  # the descriptor listdir itself used, already closed
    return fds


def count_fds() -> int:
    """How many descriptors are open (cheap: called at every checkpoint); -1 without /proc."""
    try:
        return len(os.listdir(FD_DIR)) - 1  # minus the one listdir opened
    except OSError:
        return -1


def take_census() -> Census:
    census = Census(fds=open_fds())
    objects = gc.get_objects()
    # Each type is looked at once; the pass over the objects stays in C (a test runner's heap
    # holds ~100k objects, a few hundred of them resources).
    describers = {
        kind: describer
        for kind in set(map(type, objects))
        if (describer := _describer_for(kind)) is not None
    }
    files: list[object] = []
    for obj in itertools.compress(objects, map(describers.__contains__, map(type, objects))):
        describer = describers[type(obj)]
        if describer is _describe_file:
            files.append(obj)
        else:
            _add(census, obj, describer(obj))
    for obj in _outermost(files):
        _add(census, obj, _describe_file(obj))
    for obj in _alive_threads():
        _add(census, obj, _describe_thread(obj))
    for obj in _pending_tasks():
        _add(census, obj, _describe_task(obj))
    return census


Describer = Callable[[Any], "OpenResource | None"]


def _add(census: Census, obj: object, resource: OpenResource | None) -> None:
    if resource is not None:
        address = allocation_address(obj)
        census.by_object[id(obj)] = dataclasses.replace(resource, address=address)


# Types already looked at: a type's describer never changes (a class a describer names exists
# before any subclass of it).
_DESCRIBERS: weakref.WeakKeyDictionary[type, Describer | None] = weakref.WeakKeyDictionary()


def _describer_for(kind: type) -> Describer | None:
    try:
        return _DESCRIBERS[kind]
    except KeyError:
        describer = _DESCRIBERS[kind] = _find_describer(kind)
        return describer
    except TypeError:  # a type that takes no weak reference
        return _find_describer(kind)


def _find_describer(kind: type) -> Describer | None:
    if issubclass(kind, _io._IOBase):
        return _describe_file
    for module_name, class_name, describer in _CLASS_DESCRIBERS:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module is not None else None
        if isinstance(cls, type) and issubclass(kind, cls):
            return describer
    if all(callable(getattr(kind, name, None)) for name in _DBAPI_METHODS):
        return _describe_dbapi
    return None


def _outermost(files: list[object]) -> list[object]:
    """Open file objects that no other file object wraps (a TextIOWrapper, not its buffer)."""
    wrapped: set[int] = set()
    for obj in files:
        for attribute in ("buffer", "raw"):
            try:
                inner = getattr(obj, attribute, None)
            except ValueError:  # a detached wrapper
                continue
            if inner is not None:
                wrapped.add(id(inner))
    return [obj for obj in files if id(obj) not in wrapped]


def _fileno(obj: Any) -> int | None:
    try:
        fd = obj.fileno()
    except (OSError, ValueError, AttributeError):
        return None
    return fd if isinstance(fd, int) and fd >= 0 else None


def _describe_file(obj: Any) -> OpenResource | None:
    try:
        if obj.closed:
            return None
    except ValueError:
        return None
    fd = _fileno(obj)
    if fd is None:  # an in-memory stream (BytesIO, StringIO): not an OS resource
        return None
    name = getattr(obj, "name", fd)
    shown = name if isinstance(name, int) else repr(name)
    return OpenResource(type_name(obj), f"{type_name(obj)} name={shown} (open)", (fd,))


def _describe_socket(obj: Any) -> OpenResource | None:
    fd = _fileno(obj)
    if fd is None:
        return None
    family = getattr(obj.family, "name", obj.family)
    kind = getattr(obj.type, "name", obj.type)
    return OpenResource(type_name(obj), f"{type_name(obj)} fd={fd} {family} {kind} (open)", (fd,))


def _describe_sqlite(obj: Any) -> OpenResource | None:
    try:
        rows = obj.execute("PRAGMA database_list").fetchall()
    except Exception as exc:  # noqa: BLE001 - closed, or owned by another thread
        if "closed" in str(exc):
            return None
        rows = []
    files = [row[2] for row in rows if row[1] == "main"]
    name = (files[0] or ":memory:") if files else "?"
    return OpenResource(type_name(obj), f"{type_name(obj)} {name!r} (open)")


def _describe_dbapi(obj: Any) -> OpenResource | None:
    """A DB-API connection of another driver: open unless it says `closed` (or not `open`)."""
    if getattr(obj, "closed", False) or getattr(obj, "open", True) is False:
        return None
    return OpenResource(type_name(obj), f"{type_name(obj)} (open)")


def _describe_popen(obj: Any) -> OpenResource | None:
    if getattr(obj, "returncode", 0) is not None:
        return None
    args = getattr(obj, "args", None)
    return OpenResource(
        type_name(obj), f"{type_name(obj)} pid={obj.pid} args={args!r} (not waited for)"
    )


def _describe_mmap(obj: Any) -> OpenResource | None:
    if obj.closed:
        return None
    return OpenResource(type_name(obj), f"{type_name(obj)} size={len(obj)} (open)")


def _alive_threads() -> Iterable[threading.Thread]:
    main = threading.main_thread()
    return [thread for thread in threading.enumerate() if thread is not main]


def _describe_thread(obj: threading.Thread) -> OpenResource:
    daemon = " daemon" if obj.daemon else ""
    return OpenResource(type_name(obj), f"{type_name(obj)} {obj.name!r}{daemon} (alive)")


# Where asyncio keeps its tasks: one WeakSet on 3.11, scheduled and eager tasks apart from 3.12.
_TASK_REGISTRIES = ("_all_tasks", "_scheduled_tasks", "_eager_tasks")


def _pending_tasks() -> Iterable[Any]:
    tasks_module = sys.modules.get("asyncio.tasks")
    tasks: list[Any] = []
    for registry in _TASK_REGISTRIES:
        tasks.extend(getattr(tasks_module, registry, ()))
    return [task for task in tasks if not task.done()]


def _describe_task(obj: Any) -> OpenResource:
    coro = obj.get_coro()
    name = getattr(coro, "__qualname__", type(coro).__name__)
    return OpenResource(
        type_name(obj), f"{type_name(obj)} {obj.get_name()!r} coro={name}() (pending)"
    )


_DBAPI_METHODS = ("cursor", "commit", "rollback", "close")
# (module, class, describer): checked only when the program imported the module itself.
_CLASS_DESCRIBERS: tuple[tuple[str, str, Describer], ...] = (
    ("_socket", "socket", _describe_socket),
    ("sqlite3", "Connection", _describe_sqlite),
    ("subprocess", "Popen", _describe_popen),
    ("mmap", "mmap", _describe_mmap),
)
