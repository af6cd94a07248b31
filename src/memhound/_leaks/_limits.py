"""Memory limits for one call of a function: its traced peak, and what it leaves allocated.

Used by the pytest markers limit_memory("24 MB") and limit_leaks("1 MB"). Sizes are written
like "24 MB", "512KB", "1.5 GiB" or a plain number of bytes; KB/MB/GB and KiB/MiB/GiB are all
powers of 1024, as memory is counted.
"""

from __future__ import annotations

import gc
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from memhound import _core
from memhound._capture import read_capture
from memhound._errors import MemhoundError, UsageError
from memhound._leaks._render import human_bytes

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
SHOWN_SITES = 5


def parse_size(text: str | float) -> int:
    """'24 MB' -> 25165824; numbers are bytes. UsageError on anything else."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return int(text)
    match = _SIZE.match(str(text))
    if match is None:
        raise UsageError(f"bad size '{text}': expected e.g. '24 MB', '512 KB' or a number of bytes")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


@dataclass(frozen=True)
class MemoryUse:
    """Traced bytes of one call and the sites that account for them."""

    total: int
    sites: list[dict[str, Any]]

    def describe(self, what: str, limit: int) -> str:
        lines = [f"{what} {human_bytes(self.total)}, over the limit of {human_bytes(limit)}"]
        for site in self.sites:
            frame = site["frames"][0] if site["frames"] else None
            where = f"{frame['function']} ({frame['file']}:{frame['line']})" if frame else "?"
            lines.append(
                f"  {human_bytes(site['bytes']):>10}  {site['count']:>6} allocations  {where}"
            )
        return "\n".join(lines)


def traced_peak(body: Callable[[], Any], native: bool = False) -> MemoryUse:
    """Runs `body` once under the tracer (the C allocator too when `native`): the largest
    traced live size, and its sites."""
    capture = _traced_call(body, collect=False, native=native)
    sites = capture.sites("peak", "line", SHOWN_SITES)
    return MemoryUse(int(capture.stats()["peak_bytes"]), list(sites))


def traced_leftover(body: Callable[[], Any], native: bool = False) -> MemoryUse:
    """Runs `body` once under the tracer (the C allocator too when `native`): what it allocated
    and left alive (after a collection)."""
    capture = _traced_call(body, collect=True, native=native)
    return MemoryUse(int(capture.live_bytes()), list(capture.sites("leaks", "line", SHOWN_SITES)))


def _traced_call(body: Callable[[], Any], collect: bool, native: bool) -> Any:
    if _core.is_tracing():
        raise MemhoundError("a memory limit cannot be checked while memhound is already tracing")
    with tempfile.TemporaryDirectory(prefix="memhound-limit-") as folder:
        path = os.path.join(folder, "call.bin")
        _core.start_tracing(path, native=native)
        try:
            body()
            if collect and gc.isenabled():
                gc.collect()
            _core.flush_tracing()
        finally:
            _core.stop_tracing()
        return read_capture(path)
