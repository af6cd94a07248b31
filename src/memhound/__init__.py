"""memhound: find where a Python program's memory goes and why it stays.

The public API is what this module exports; everything in a module whose name starts with `_`
is private.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from memhound._supported import require_supported_interpreter

require_supported_interpreter()

from memhound._errors import CaptureError, LeakError, MemhoundError, UsageError
from memhound._tracker import Tracker

# Exported names whose modules load on first use, so that `memhound run` does not pay at start-up
# for the leak detector and the heap walker: name -> private module defining it.
_LAZY_EXPORTS = {
    "LeakReport": "memhound._leaks._model",
    "assert_no_leaks": "memhound._leaks",
    "check_leaks": "memhound._leaks._detect",
    "Snapshot": "memhound._snapshot",
    "snapshot": "memhound._snapshot",
    "load_snapshot": "memhound._snapshot",
    "explain": "memhound._explain",
    "read_capture": "memhound._capture",
    "summary": "memhound._objects._summary",
    "Summary": "memhound._objects._summary",
    "SummaryDiff": "memhound._objects._summary",
    "SummaryTracker": "memhound._objects._summary",
    "show_growth": "memhound._objects._summary",
    "refcount": "memhound._objects._referrers",
    "IMMORTAL": "memhound._objects._referrers",
    "referrers": "memhound._objects._referrers",
    "graph": "memhound._objects._graph",
    "Window": "memhound._capture",
    "asizeof": "memhound._asizeof",
    "asizesof": "memhound._asizeof",
    "asized": "memhound._asizeof",
    "Asized": "memhound._asizeof",
    "gc_stats": "memhound._runtime._gc",
    "gc_watch": "memhound._runtime._gc",
    "pymalloc_stats": "memhound._runtime._pymalloc",
    "ClassTracker": "memhound._class_tracker",
    "ClassStats": "memhound._class_tracker",
    "ClassSnapshot": "memhound._class_tracker",
    "InstanceLife": "memhound._class_tracker",
    "load_class_stats": "memhound._class_tracker",
    "load_ipython_extension": "memhound._jupyter",  # %load_ext memhound
    "profile": "memhound._lines",
}

__all__ = [
    "IMMORTAL",
    "Asized",
    "CaptureError",
    "ClassSnapshot",
    "ClassStats",
    "ClassTracker",
    "InstanceLife",
    "LeakError",
    "LeakReport",
    "MemhoundError",
    "Snapshot",
    "Summary",
    "SummaryDiff",
    "SummaryTracker",
    "Tracker",
    "UsageError",
    "Window",
    "__version__",
    "asized",
    "asizeof",
    "asizesof",
    "assert_no_leaks",
    "check_leaks",
    "explain",
    "gc_stats",
    "gc_watch",
    "graph",
    "load_class_stats",
    "load_ipython_extension",
    "load_snapshot",
    "profile",
    "pymalloc_stats",
    "read_capture",
    "refcount",
    "referrers",
    "show_growth",
    "snapshot",
    "summary",
]


def __getattr__(name: str) -> Any:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'memhound' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_EXPORTS))
