"""Runs a script under tracemalloc, the way a user would trace a whole program with it.

Usage: python tracemalloc_run.py FRAMES script.py [args...]
Starts tracemalloc with FRAMES frames per traceback before the script runs, then runs the script
as `__main__` with its own sys.argv, like `python script.py args...` would.
"""

from __future__ import annotations

import os
import runpy
import sys
import tracemalloc


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        sys.exit("usage: tracemalloc_run.py FRAMES script.py [args...]")
    frames, script, *script_args = argv
    sys.argv = [script, *script_args]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    tracemalloc.start(int(frames))
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
