"""Line profiling overhead: @memhound.profile against memory_profiler's @profile.

Runs only this section (benchmarks/_lines_section.py) and prints it, or with --write replaces its
block ("## Line by line, CPython X.Y.Z") in that file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _lines_section import TITLE, lines_section
from _markdown import write_section


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--write", metavar="PATH", help="the markdown file whose block to replace")
    args = parser.parse_args(argv)
    report = lines_section(args.rounds, args.timeout)
    write_section(args.write, f"## {TITLE}", f"## {report.title}\n\n{report.body}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
