"""A small unit of work with one known leak, for timing `memhound leaks` (the leak-check bar).

`handle_request` does the work of a tiny request handler: most of what it allocates is temporary
or held by a bounded cache, but every call also appends its session to a module-level list that
nobody trims: a leak of kind `global`, allocated in `open_session`.
"""

from __future__ import annotations

from collections import OrderedDict

SESSION_LOG: list[dict[str, object]] = []
RECENT: OrderedDict[int, str] = OrderedDict()
RECENT_LIMIT = 16


def open_session(request_id: int) -> dict[str, object]:
    return {"id": request_id, "user": f"user-{request_id % 50}", "trail": [request_id] * 16}


def remember(request_id: int, text: str) -> None:
    """A bounded cache: fills up to RECENT_LIMIT entries and then stays flat (not a leak)."""
    RECENT[request_id] = text
    while len(RECENT) > RECENT_LIMIT:
        RECENT.popitem(last=False)


def handle_request(request_id: int) -> int:
    session = open_session(request_id)
    SESSION_LOG.append(session)
    words = [f"word{i}" for i in range(200)]
    reply = " ".join(words) + str(session["user"])
    remember(request_id, reply[:40])
    return len(reply)


if __name__ == "__main__":
    for index in range(30):
        handle_request(index)
    print(f"leak_unit: {len(SESSION_LOG)} sessions logged")
