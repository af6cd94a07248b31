"""Which interpreters memhound can read: CPython 3.11, 3.12 and 3.13, built with the GIL.

The recorder and the heap walker read the interpreter's frames and objects directly, so any
other version or build is refused at import with one line, before the native core loads.
"""

from __future__ import annotations

import itertools
import os
import sys

SUPPORTED_VERSIONS = ((3, 11), (3, 12), (3, 13))


def unsupported_reason(implementation: str, version: tuple[int, ...], abiflags: str) -> str | None:
    """Why this interpreter cannot run memhound, or None when it can."""
    names = ", ".join(f"{major}.{minor}" for major, minor in SUPPORTED_VERSIONS)
    running = f"{implementation} {version[0]}.{version[1]}"
    if implementation != "cpython" or tuple(version[:2]) not in SUPPORTED_VERSIONS:
        return f"memhound supports CPython {names}; this is {running}"
    if "t" in abiflags:
        return (
            f"memhound does not support the free-threaded build of CPython ({running}t); "
            f"use the default build of CPython {names}"
        )
    return None


def require_supported_interpreter() -> None:
    """Refuse an unsupported interpreter: one line and exit 2 from the CLI, ImportError otherwise."""
    reason = unsupported_reason(
        sys.implementation.name, tuple(sys.version_info), getattr(sys, "abiflags", "")
    )
    if reason is None:
        return
    if _running_the_cli():
        sys.stderr.write(f"memhound: error: {reason}\n")
        raise SystemExit(2)
    raise ImportError(reason)


def _running_the_cli() -> bool:
    """`memhound ...` or `python -m memhound ...` (the package imports before the CLI does)."""
    argv = getattr(sys, "orig_argv", sys.argv)
    script = os.path.basename(sys.argv[0]) if sys.argv else ""
    module_run = ("-m", "memhound") in itertools.pairwise(argv)
    return script == "memhound" or module_run
