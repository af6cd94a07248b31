"""A small request-handling "service" with a few different leaks, for `make demo`:

    memhound leaks examples/demo_service.py:handle_request --iterations 30

- every request is appended to a module-level history list (global),
- each request registers a retry callback whose closure keeps the whole payload (closure),
- every session subscribes a bound method to an event bus and never unsubscribes (listener),
  so the session stays, and with it a SQLite connection that is never closed (resource):
  one leak, reported once with both kinds,
- and, not a leak: each request builds a parent <-> child tree, a reference cycle the
  collector reclaims (reported apart, as cyclic garbage).

Run as a script, it serves a burst of requests (`memhound run examples/demo_service.py`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

REQUEST_HISTORY: list[dict[str, object]] = []
RETRY_CALLBACKS: dict[int, Callable[[], int]] = {}


class EventBus:
    def __init__(self) -> None:
        self.subscribers: list[Callable[[str], None]] = []

    def subscribe(self, callback: Callable[[str], None]) -> None:
        self.subscribers.append(callback)


BUS = EventBus()


class Session:
    def __init__(self, user: str) -> None:
        self.user = user
        self.db = sqlite3.connect(":memory:")
        self.seen: list[str] = [f"{user}-event-{n}" for n in range(8)]
        BUS.subscribe(self.on_event)

    def on_event(self, event: str) -> None:
        self.seen.append(event)


class TreeNode:
    def __init__(self, parent: TreeNode | None = None) -> None:
        self.parent = parent
        self.children: list[TreeNode] = []
        if parent is not None:
            parent.children.append(self)


def render(payload: list[int]) -> int:
    root = TreeNode()
    for _ in range(3):
        TreeNode(root)
    return sum(payload) + len(root.children)


def handle_request(i: int) -> int:
    payload = [i * n for n in range(64)]
    REQUEST_HISTORY.append({"id": i, "path": f"/items/{i}", "size": len(payload)})
    RETRY_CALLBACKS[i] = lambda: sum(payload)
    Session(f"user-{i}")
    return render(payload)


if __name__ == "__main__":
    total = sum(handle_request(i) for i in range(500))
    print(f"served 500 requests ({total}); history {len(REQUEST_HISTORY)}")
