"""What the tests hold the command line to: how they run `memhound`, and the JSON keys of
`memhound leaks --json` (docs/leaks-json.md) and `memhound runtime --json`, pinned as literals so
that any drift fails."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
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
    "memory",
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
    "native_frames",
}

RUNTIME_KEYS = {"program", "exit_code", "gc", "pymalloc"}

RUNTIME_GC_KEYS = {
    "scope",
    "duration_s",
    "enabled",
    "debug_flags",
    "frozen",
    "collections",
    "collected",
    "uncollectable",
    "pause_total_s",
    "pause_share",
    "callback_failures",
    "generations",
    "garbage",
}

RUNTIME_PYMALLOC_KEYS = {
    "allocator",
    "debug_hooks",
    "memory",
    "small_block_threshold",
    "arenas",
    "pool_size",
    "size_classes",
    "allocated_bytes",
    "available_bytes",
    "unused_pools",
    "unused_pool_bytes",
    "pool_header_bytes",
    "quantization_bytes",
    "arena_alignment_bytes",
    "arena_map_bytes",
    "freelists",
    "mimalloc",
    "python",
    "in_use",
    "held_bytes",
    "used_pools",
    "overhead_bytes",
    "fragmentation",
    "freelist_bytes",
}


def run_memhound(
    *args: str,
    cwd: str | Path | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m memhound ARGS` in a subprocess, its output captured as text (`env`: variables
    added to this process's environment)."""
    return subprocess.run(
        [sys.executable, "-m", "memhound", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env=None if env is None else {**os.environ, **env},
    )


def write_program(folder: Path, source: str, name: str = "program.py") -> Path:
    """`source` (dedented) written as `folder/name`: a program for a test to run."""
    script = folder / name
    script.write_text(textwrap.dedent(source))
    return script


def line_of(script: Path, marker: str) -> int:
    """The 1-based line of the source line that contains `marker` (a comment in the program)."""
    for number, text in enumerate(script.read_text().splitlines(), start=1):
        if marker in text:
            return number
    raise AssertionError(f"{marker} not in {script}")
