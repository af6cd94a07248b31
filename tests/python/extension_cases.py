"""Units of work whose verdict needs more iterations, and a leak held only by a library
(test_leaks_extension.py runs them through memhound leaks)."""

import collections
import logging

_price_cache = collections.OrderedDict()  # evicts past LIMIT, a bound no attribute shows
_memo = {}
LIMIT = 100
SEEN = []


def quote(key):
    if key not in _price_cache:
        _price_cache[key] = [key] * 20
        if len(_price_cache) > LIMIT:
            _price_cache.popitem(last=False)
    return _price_cache[key]


def bounded_memo(i):
    quote(f"item-{i}")


def unbounded_memo(i):
    _memo[f"item-{i}"] = [i] * 20


def program_and_library(i):
    for k in range(20):
        logging.getLogger(f"svc.request.{i}.{k}")  # logging keeps every logger it made
    SEEN.append(str(i) * 40)


class AuditHandler(logging.Handler):
    def emit(self, record):
        pass


def handler_per_call(i):
    logging.getLogger("svc").addHandler(AuditHandler())  # logging holds the program's handler
