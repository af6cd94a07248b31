"""Units of work for the leak detector's tests: one leak of each kind, and controls.

Each leaky unit marks the line that allocates (or stores) what it leaks with a comment
`# LEAK: <unit name>`; tests find the line by that marker. Controls must give no finding.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import functools
import os
import socket
import sqlite3
import threading
from typing import ClassVar

# ---- global ------------------------------------------------------------------------------------

SEEN_TOKENS: set[str] = set()


def remember_tokens(i: int) -> None:
    SEEN_TOKENS.add(f"token-{i}-" + "x" * (100 + i % 3))  # LEAK: remember_tokens


# ---- cache: a memo dict keyed by the request ---------------------------------------------------

_QUOTE_MEMO: dict[tuple[str, int], list[int]] = {}


def quote_price(i: int) -> int:
    key = ("quote", i)
    if key not in _QUOTE_MEMO:
        _QUOTE_MEMO[key] = [i * n for n in range(40)]  # LEAK: quote_price
    return sum(_QUOTE_MEMO[key])


# ---- cache: lru_cache without a bound, unique arguments ---------------------------------------


@functools.cache
def render_page(slug: str) -> str:
    return f"<h1>{slug}</h1>" + "<p>lorem</p>" * 20  # LEAK: render_unbounded


def render_unbounded(i: int) -> int:
    return len(render_page(f"page-{i}"))


# ---- default_argument ----------------------------------------------------------------------


def audit_event(i: int, trail: list[dict[str, object]] = []) -> int:  # noqa: B006 - the leak
    trail.append({"event": i, "blob": bytearray(256)})  # LEAK: audit_event
    return len(trail)


# ---- class_attribute -----------------------------------------------------------------------


class Metrics:
    samples: ClassVar[list[tuple[int, bytes]]] = []


def record_metric(i: int) -> None:
    Metrics.samples.append((i, bytes(300) + str(i).encode()))  # LEAK: record_metric


# ---- listener: bound methods subscribed and never removed ------------------------------------

SUBSCRIPTIONS: dict[str, list[object]] = collections.defaultdict(list)


class Order:
    def __init__(self, i: int) -> None:
        self.lines = [f"line-{i}-{n}" for n in range(10)]
        SUBSCRIPTIONS["price-changed"].append(self.reprice)  # LEAK: place_order

    def reprice(self) -> int:
        return len(self.lines)


def place_order(i: int) -> int:
    return Order(i).reprice()


# ---- closure ------------------------------------------------------------------------------------

FORMATTERS: dict[int, object] = {}


def make_formatter(blob: bytes):
    def formatter(text: str) -> str:
        return text + str(len(blob))

    return formatter


def keep_formatter(i: int) -> None:
    FORMATTERS[i] = make_formatter(bytes(400) + bytes([i % 256]))  # LEAK: keep_formatter


# ---- thread_local ------------------------------------------------------------------------------

_context = threading.local()


def thread_local_rows(i: int) -> None:
    rows = _context.__dict__.setdefault("rows", [])
    rows.append(("row", i, "v" * 120 + str(i)))  # LEAK: thread_local_rows


# ---- traceback: exceptions kept with their tracebacks -----------------------------------------

FAILURES: list[Exception] = []


def parse(i: int) -> int:
    scratch = bytearray(700)  # LEAK: keep_failures
    raise ValueError(f"bad record {i} ({len(scratch)})")


def keep_failures(i: int) -> None:
    try:
        parse(i)  # LEAK: keep_failures
    except ValueError as exc:
        FAILURES.append(exc)


# ---- task: background tasks left pending on a long-lived loop ------------------------------------

LOOP = asyncio.new_event_loop()


async def poll_forever(i: int) -> None:
    state = {"job": i, "buffer": bytearray(300)}
    while True:
        await asyncio.sleep(3600)
        state["job"] = i


async def spawn(i: int) -> None:
    asyncio.get_running_loop().create_task(poll_forever(i))  # LEAK: spawn_poller
    await asyncio.sleep(0)


def spawn_poller(i: int) -> None:
    LOOP.run_until_complete(spawn(i))


# ---- resource: connections, sockets, threads, bare fds ---------------------------------------

CONNECTIONS: list[sqlite3.Connection] = []


def open_connection(i: int) -> None:
    CONNECTIONS.append(sqlite3.connect(":memory:"))  # LEAK: open_connection


SOCKETS: list[socket.socket] = []


def open_socket(i: int) -> None:
    SOCKETS.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))  # LEAK: open_socket


STOP_WORKERS = threading.Event()


def start_worker(i: int) -> None:
    worker = threading.Thread(target=STOP_WORKERS.wait, daemon=True)  # LEAK: start_worker
    worker.start()


def open_bare_fd(i: int) -> None:
    os.open(os.devnull, os.O_RDONLY)  # LEAK: open_bare_fd


# ---- native: raw memory with no Python object --------------------------------------------------

_raw_malloc = ctypes.pythonapi.PyMem_RawMalloc
_raw_malloc.restype = ctypes.c_void_p
_raw_malloc.argtypes = [ctypes.c_size_t]


def grab_native(i: int) -> None:
    _raw_malloc(2048)  # LEAK: grab_native


_libc_malloc = ctypes.CDLL(None).malloc
_libc_malloc.restype = ctypes.c_void_p
_libc_malloc.argtypes = [ctypes.c_size_t]


def grab_malloc(i: int) -> None:
    _libc_malloc(4096)  # LEAK: grab_malloc


# ---- cycle: garbage kept by reference cycles while the collector is off ---------------------


class Node:
    def __init__(self, parent: Node | None) -> None:
        self.parent = parent
        self.children: list[Node] = []
        self.payload = [0] * 30
        if parent is not None:
            parent.children.append(self)


def build_tree(i: int) -> int:
    root = Node(None)  # LEAK: build_tree
    for _ in range(3):
        Node(root)  # LEAK: build_tree
    return len(root.children)


# ---- controls: none of these leaks ---------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _bounded(key: str) -> str:
    return key * 30


def bounded_lru(i: int) -> int:
    return len(_bounded(f"k{i}"))


RECENT: collections.deque[bytes] = collections.deque(maxlen=5)


def sliding_window(i: int) -> None:
    RECENT.append(bytes(200) + str(i).encode())


_WARM: dict[int, list[int]] = {}


def warm_cache(i: int) -> int:
    key = i % 4
    if key not in _WARM:
        _WARM[key] = [key] * 100
    return len(_WARM[key])


def temporaries(i: int) -> int:
    rows = [{"n": n, "s": str(n) * 3} for n in range(150)]
    return sum(row["n"] for row in rows)


def collected_cycles(i: int) -> int:
    """Cycles the collector reclaims: cyclic garbage, not a leak (when gc is enabled)."""
    return build_tree(i)


def closed_resources(i: int) -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("select 1").fetchall()
    connection.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM):
        pass
    worker = threading.Thread(target=len, args=("x",))
    worker.start()
    worker.join()
    os.close(os.open(os.devnull, os.O_RDONLY))


def compiled_again(i: int) -> int:
    """Code compiled anew in every call (exec, a doctest's examples): freed with its result."""
    namespace: dict[str, object] = {}
    exec(compile(f"total = sum(range({i % 3}))", "<generated>", "exec"), namespace)  # noqa: S102 - what is tested
    return int(namespace["total"])  # type: ignore[call-overload]


def finished_tasks(i: int) -> None:
    async def short() -> int:
        await asyncio.sleep(0)
        return i

    LOOP.run_until_complete(short())
