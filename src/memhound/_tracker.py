"""memhound.Tracker: trace the allocations of a block of code (or a whole program) into a capture file.

The recording itself happens in the C++ core (memhound._core): this module checks arguments,
turns core errors into MemhoundError subclasses and makes sure a started Tracker stops at exit.
"""

from __future__ import annotations

import atexit
import os
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Self

from memhound._errors import UsageError


class Tracker:
    """Records every Python allocation (or a Poisson sample by bytes) with its call stack.

    Use it as a context manager, or call start() and stop(). Read the capture with
    `memhound report PATH`. Only one Tracker records at a time in a process.

    path: the capture file to write (created or truncated).
    sample_bytes: None records every allocation; N records a Poisson sample with a mean
        interval of N allocated bytes (for always-on use; reports scale the samples back up).
    follow_fork: a child made by fork() writes its own capture to PATH.<child pid>; without it
        the child stops tracing and leaves the parent's file alone.
    native: trace the C allocator too (malloc, calloc, realloc, free, the aligned allocators,
        anonymous mmap/munmap/mremap) in every loaded library but libc, the loader and libpython,
        whose allocations the PyMem hooks record already. Memory that extensions report through
        PyTraceMalloc_Track (numpy's arrays) is recorded in every mode.
    native_frames: record the C call stack of each native allocation too (implies native):
        the C frames between the Python line and the allocator, named at read time.
    argv: the command line stored in the capture (default: sys.argv).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        sample_bytes: int | None = None,
        *,
        follow_fork: bool = False,
        native: bool = False,
        native_frames: bool = False,
        argv: Sequence[str] | None = None,
    ) -> None:
        if sample_bytes is not None and (
            isinstance(sample_bytes, bool) or not isinstance(sample_bytes, int) or sample_bytes <= 0
        ):
            raise UsageError(
                f"sample_bytes must be a positive integer or None, not {sample_bytes!r}"
            )
        self._path = os.fspath(path)
        self._sample_bytes = sample_bytes or 0
        self._follow_fork = follow_fork
        self._native = bool(native) or bool(native_frames)
        self._native_frames = bool(native_frames)
        self._argv = list(sys.argv if argv is None else argv)
        self._owner_pid: int | None = None
        self._completed_path: str | None = None

    @property
    def path(self) -> str:
        """The capture file given to the Tracker."""
        return self._path

    @property
    def completed_path(self) -> str | None:
        """The capture this process completed at stop(): PATH, or PATH.<pid> in a child that
        followed a fork; None before stop() and in a child that stopped tracing at the fork."""
        return self._completed_path

    def start(self) -> Self:
        """Starts recording. Raises UsageError if memhound is already tracing or PATH is unwritable."""
        from memhound import _core

        if self._owner_pid is not None:
            raise UsageError("this Tracker is already started")
        if _core.is_tracing():
            raise UsageError(f"memhound is already tracing into {_core.tracing_path()}")
        try:
            _core.start_tracing(
                self._path,
                self._sample_bytes,
                self._follow_fork,
                self._argv,
                native=self._native,
                native_frames=self._native_frames,
            )
        except _core.CoreError as exc:
            raise UsageError(str(exc)) from None
        self._owner_pid = os.getpid()
        self._completed_path = None
        atexit.register(self._stop_at_exit)
        return self

    def stop(self) -> None:
        """Stops recording and completes the capture file. Raises UsageError if not started.

        In a child made by fork() this stops the child's own capture (follow_fork) or does
        nothing (the child stopped tracing at the fork).
        """
        from memhound import _core

        if self._owner_pid is None:
            raise UsageError("this Tracker is not started")
        forked = os.getpid() != self._owner_pid
        self._owner_pid = None
        atexit.unregister(self._stop_at_exit)
        if forked and not _core.is_tracing():
            return
        if not _core.is_tracing():
            raise UsageError("memhound stopped tracing before this Tracker")
        written = _core.tracing_path()
        _core.stop_tracing()
        self._completed_path = written

    def flush(self) -> None:
        """Returns when every allocation recorded so far is in the capture file."""
        from memhound import _core

        _core.flush_tracing()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _stop_at_exit(self) -> None:
        if self._owner_pid is not None:
            self.stop()
