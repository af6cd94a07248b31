"""`memhound run`: run a Python program the way `python` would, tracing its allocations."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable

from memhound._errors import MemhoundError
from memhound._program import (
    Program,
    add_program_arguments,
    check_program,
    program_from_args,
    run_program,
)
from memhound._tracker import Tracker

DESCRIPTION = """\
Runs a Python program (a script, -m module or -c code, with its arguments) as `python` would,
recording every allocation with its full call stack into a capture file. The program's exit
code is passed through. Read the capture with `memhound report FILE` or `memhound stats FILE`.

examples:
  memhound run app.py --port 8000
  memhound run -o build/app.bin -m mypackage.worker
  memhound run --sample-bytes 1048576 service.py     # low-overhead sampling"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a Python program and record its allocations",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="capture file to write (default: memhound-<name>.<pid>.bin in the current directory)",
    )
    parser.add_argument(
        "--sample-bytes",
        type=_positive_int,
        metavar="N",
        help="record a Poisson sample of the allocations, one per N allocated bytes on average",
    )
    parser.add_argument(
        "--follow-fork",
        action="store_true",
        help="a forked child writes its own capture to FILE.<child pid> (default: it stops tracing)",
    )
    add_program_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    program = program_from_args(args)
    check_program(program)
    output = args.output or default_output(program)
    tracker = Tracker(
        output, sample_bytes=args.sample_bytes, follow_fork=args.follow_fork, argv=program.argv
    )
    start_failures: list[MemhoundError] = []
    code = run_program(program, around=_traced(tracker, start_failures))
    if start_failures:
        raise start_failures[0]
    written = tracker.completed_path
    if written is not None:
        print(
            f"memhound: capture written to {written}; report it with: memhound report {shlex.quote(written)}",
            file=sys.stderr,
        )
    return code


def default_output(program: Program) -> str:
    if program.module:
        name = program.module
    elif program.code is not None:
        name = "c"
    else:
        name = os.path.splitext(os.path.basename(os.path.normpath(program.script or "")))[0]
    return f"memhound-{name}.{os.getpid()}.bin"


def _traced(
    tracker: Tracker, start_failures: list[MemhoundError]
) -> Callable[[Callable[[], None]], None]:
    """Tracing around the program itself, not around memhound's own start-up.

    A failure to start is handed back (not raised) so that it ends as memhound's one-line error
    rather than as a traceback of the program.
    """

    def around(body: Callable[[], None]) -> None:
        try:
            tracker.start()
        except MemhoundError as exc:
            start_failures.append(exc)
            return
        try:
            body()
        finally:
            tracker.stop()

    return around


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive number of bytes, got {text!r}"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of bytes, got {text!r}")
    return value
