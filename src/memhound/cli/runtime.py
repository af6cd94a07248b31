"""`memhound runtime`: run a program with the collector watched, then show the collector's and
pymalloc's figures.

The figures are taken when the program's own code has finished (normally, by an exception or by
sys.exit), while its globals still exist, so that paths to objects in gc.garbage name them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from memhound import _program
from memhound._program import require_program, run_program, split_command_line
from memhound._runtime._gc import GcStats, GcWatch
from memhound._runtime._pymalloc import PymallocStats, pymalloc_stats
from memhound.cli.heap import report_at_end

SUMMARY = "run a Python program and show the collector's and pymalloc's figures at exit"

DESCRIPTION = """\
Runs a Python program (a script, -m module or -c code, with its arguments) as `python` would,
with memhound.gc_watch() counting every collection and its pause time. When the program's code
has finished (also by an exception or sys.exit), memhound prints, per generation, the
collections, objects collected and uncollectable, thresholds and pause times (total, max,
median, histogram), the objects gc.garbage holds with the path or cycle that keeps each, and
pymalloc's arenas, pools per size class, used and free blocks and fragmentation, with the
process's RSS. The program's exit code is passed through. A program that ends by os._exit()
gets no report.

options go before the program:
  memhound runtime app.py --port 8000
  memhound runtime --json -m mypackage.worker > runtime.json
  memhound runtime -c "import json; data = [dict(a=i) for i in range(10**5)]\""""


def own_parser() -> argparse.ArgumentParser:
    """The parser of `memhound runtime`'s own options, the words before the program."""
    from memhound.cli._parser import CommandParser

    parser = CommandParser(
        prog="memhound runtime",
        usage="%(prog)s [-h] [--json] [-n N] (script.py | -m MODULE | -c CODE) [args ...]",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "-n",
        type=_count,
        default=10,
        metavar="N",
        help="objects of gc.garbage to describe, each with its path (default: 10)",
    )
    return parser


def main(words: Sequence[str]) -> int:
    own, program = split_command_line(words, ("-n",))
    args = own_parser().parse_args(own)
    return run(require_program(program), args.json, args.n)


def run(program: _program.Program, as_json: bool, garbage_rows: int) -> int:
    watch = GcWatch()
    taken: list[tuple[GcStats, PymallocStats]] = []

    def take() -> None:
        taken.append((watch.stats(garbage_limit=garbage_rows), pymalloc_stats()))

    code = run_program(program, around=_watched(watch, report_at_end(take)))
    if not taken:
        take()  # the program's code never ran (a syntax error): the figures of the attempt
    gc_figures, pymalloc_figures = taken[0]
    report = runtime_report(program.describe(), code, gc_figures, pymalloc_figures)
    sys.stdout.flush()
    sys.stdout.write(
        json.dumps(report, indent=2) + "\n"
        if as_json
        else render_text(report["program"], code, gc_figures, pymalloc_figures)
    )
    return code


def _watched(
    watch: GcWatch, around: Callable[[Callable[[], None]], None]
) -> Callable[[Callable[[], None]], None]:
    def watched(body: Callable[[], None]) -> None:
        with watch:
            around(body)

    return watched


def runtime_report(
    program: str, code: int, gc_figures: GcStats, pymalloc_figures: PymallocStats
) -> dict[str, Any]:
    """The JSON document of `memhound runtime --json`."""
    return {
        "program": program,
        "exit_code": code,
        "gc": gc_figures.to_dict(),
        "pymalloc": pymalloc_figures.to_dict(),
    }


def render_text(
    program: str, code: int, gc_figures: GcStats, pymalloc_figures: PymallocStats
) -> str:
    return (
        f"memhound runtime: {program} ended with exit code {code}\n\n"
        f"{gc_figures}\n\n{pymalloc_figures}\n"
    )


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value
