"""memhound: find where a Python program's memory goes and why it stays.

The public API is what this module exports; everything in a module whose name starts with `_`
is private.
"""

from __future__ import annotations

__version__ = "0.1.0"

from memhound._errors import CaptureError, MemhoundError, UsageError
from memhound._errors import LeakError
from memhound._leaks import LeakReport, assert_no_leaks, check_leaks
from memhound._tracker import Tracker
from memhound._snapshot import Snapshot, load_snapshot, snapshot
from memhound._explain import explain

__all__ = [
    "__version__",
    "CaptureError",
    "MemhoundError",
    "UsageError",
    "LeakError",
    "LeakReport",
    "assert_no_leaks",
    "check_leaks",
    "Tracker",
    "Snapshot",
    "snapshot",
    "load_snapshot",
    "explain",
]
