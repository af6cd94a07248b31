"""What the tests hold the command line to: how they run `memhound`, and the JSON keys of
`memhound leaks --json` (docs/leaks-json.md), pinned as literals so that any drift fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPORT_KEYS = {
    "target",
    "iterations",
    "warmup",
    "duration_s",
    "leaks",
    "cyclic_garbage",
    "resources",
    "bounded_caches",
    "extended",
}

LEAK_KEYS = {
    "kinds",
    "type",
    "count_per_iteration",
    "bytes_per_iteration",
    "allocated_at",
    "retained_by",
    "path",
    "resource",
    "held_by",
    "holder_module",
}


def run_memhound(
    *args: str, cwd: str | Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`python -m memhound ARGS` in a subprocess, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "memhound", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
    )
