"""Units of work for the bounded-container tests: each bounded container filling, with a leaky
twin for each unbounded one (test_leaks_bounded.py runs them through memhound leaks)."""

import collections
import functools
import re
import urllib.parse
import weakref

from sqlalchemy.util import LRUCache


class Recent:
    """A program's own cache class: evicts its oldest entry past `capacity`; with `evicts`
    False it never does (a capacity it does not keep)."""

    def __init__(self, capacity, evicts=True):
        self.capacity = capacity
        self.evicts = evicts
        self._entries = collections.OrderedDict()

    def __len__(self):
        return len(self._entries)

    def put(self, key, value):
        self._entries[key] = value
        if self.evicts and len(self._entries) > self.capacity:
            self._entries.popitem(last=False)


RECENT = Recent(200)
BROKEN = Recent(10, evicts=False)
STATEMENTS = LRUCache(capacity=300)

WINDOW = collections.deque(maxlen=100)
UNBOUNDED = collections.deque()


@functools.lru_cache(maxsize=256)
def bounded_lookup(key):
    return [key] * 20


@functools.cache
def unbounded_lookup(key):
    return [key] * 20


def fill_urlsplit(i):
    urllib.parse.urlsplit(f"http://example.com/items/{i}?q={i}")


def fill_re(i):
    re.compile(f"item-{i}-[a-z]+")


def fill_deque(i):
    WINDOW.append([i] * 20)


def leak_deque(i):
    UNBOUNDED.append([i] * 20)


def fill_lru(i):
    bounded_lookup(i)


def leak_cache(i):
    unbounded_lookup(i)


def fill_recent(i):
    RECENT.put(i, [i] * 20)


def leak_recent(i):
    BROKEN.put(i, [i] * 20)


def fill_sqlalchemy_lru(i):
    STATEMENTS[f"select {i}"] = [i] * 20


class Session:
    pass


LIVE_SESSIONS = weakref.WeakValueDictionary()
ALL_SESSIONS = {}


def fill_weak_registry(i):
    LIVE_SESSIONS[i] = Session()  # gone with its last strong reference: the entry goes too


def leak_registry(i):
    ALL_SESSIONS[i] = Session()
