"""The exception hierarchy of memhound: every error it raises derives from MemhoundError."""

from __future__ import annotations


class MemhoundError(Exception):
    """Base class of every error memhound raises on purpose."""


class UsageError(MemhoundError):
    """Bad input from the user: a missing script, a bad target, a bad option value."""


class CaptureError(MemhoundError):
    """A capture or snapshot file that cannot be read: corrupt, truncated or of another version."""


class LeakError(MemhoundError, AssertionError):
    """A leak check found leaks; `.report` is the LeakReport (raised by assert_no_leaks)."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report
