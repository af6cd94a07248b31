"""The IPython magics: option parsing and the bridge to IPython's display and errors. The only
module of memhound that imports IPython (loaded by `%load_ext memhound`)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from IPython.core.error import UsageError as IPythonUsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from memhound._jupyter._cells import CannotRun, compile_cell
from memhound._jupyter._repeat import LeakOptions, check_cell
from memhound._jupyter._trace import TraceOptions, trace_cell
from memhound._leaks._defaults import (
    DEFAULT_BUDGET_S,
    DEFAULT_ITERATIONS,
    DEFAULT_MIN_BYTES,
    DEFAULT_WARMUP,
    seconds_argument,
)
from memhound._leaks._detect import MIN_ITERATIONS


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be positive: 0")
    return value


def _iterations(text: str) -> int:
    value = _count(text)
    if value < MIN_ITERATIONS:
        raise argparse.ArgumentTypeError(f"must be at least {MIN_ITERATIONS}: {value}")
    return value


def _bytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of bytes: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


@contextmanager
def _refusal_as_usage_error() -> Iterator[None]:
    """A cell the magic cannot run (tracing already on, an unwritable file, top-level await)
    as IPython's one-line error;
    the cell's own exceptions go on unchanged (and no frame of this shows in their traceback)."""
    try:
        yield
    except CannotRun as exc:
        raise IPythonUsageError(f"memhound: {exc}") from None


@magics_class
class MemhoundMagics(Magics):
    @magic_arguments()
    @argument(
        "-n",
        dest="limit",
        type=_count,
        default=10,
        metavar="N",
        help="show the top N sites (default 10; 0 shows all)",
    )
    @argument(
        "--by",
        choices=("line", "function", "stack"),
        default="line",
        help="group allocations by source line (default), function or whole call stack",
    )
    @argument(
        "--peak",
        dest="view",
        action="store_const",
        const="peak",
        help="memory live at the cell's peak (default)",
    )
    @argument(
        "--leaks",
        dest="view",
        action="store_const",
        const="leaks",
        help="memory the cell allocated and left allocated",
    )
    @argument(
        "--temporary",
        dest="view",
        action="store_const",
        const="temporary",
        help="short-lived allocations, by how many were made",
    )
    @argument(
        "--sample-bytes",
        type=_positive,
        default=None,
        metavar="N",
        help="record a Poisson sample, one per N allocated bytes on average",
    )
    @argument(
        "--native",
        action="store_true",
        help="trace the C allocator of extensions too (malloc, mmap)",
    )
    @argument(
        "-o",
        "--output",
        default=None,
        metavar="FILE",
        help="keep the capture in FILE (for memhound report); default: a temporary file",
    )
    @argument(
        "--no-flame-graph",
        action="store_true",
        help="show the table only (the flame graph embeds a page of up to a few MiB)",
    )
    @cell_magic
    def memhound(self, line: str, cell: str) -> Any:
        """Trace the allocations of this cell and show the sites that hold the most memory."""
        __tracebackhide__ = True
        args = parse_argstring(self.memhound, line)
        options = TraceOptions(
            view=args.view or "peak",
            by=args.by,
            limit=args.limit,
            sample_bytes=args.sample_bytes,
            native=args.native,
            output=args.output,
            flame_graph=not args.no_flame_graph,
            command=f"%%memhound {line}".strip(),
        )
        with _refusal_as_usage_error():
            code = compile_cell(self.shell, cell)
            return trace_cell(self.shell, code, options, display)

    @magic_arguments()
    @argument(
        "--iterations",
        type=_iterations,
        default=DEFAULT_ITERATIONS,
        metavar="N",
        help=f"traced runs of the cell (default {DEFAULT_ITERATIONS})",
    )
    @argument(
        "--warmup",
        type=_count,
        default=DEFAULT_WARMUP,
        metavar="K",
        help=f"untraced runs first, so that caches fill (default {DEFAULT_WARMUP})",
    )
    @argument(
        "--min-bytes",
        type=_bytes,
        default=DEFAULT_MIN_BYTES,
        metavar="B",
        help=f"ignore growth below B bytes per run (default {DEFAULT_MIN_BYTES})",
    )
    @argument(
        "--budget",
        type=seconds_argument,
        default=DEFAULT_BUDGET_S,
        metavar="TIME",
        help="time for more runs when growth goes into a cache that may stop at a limit "
        f"of its own (default {DEFAULT_BUDGET_S:g}s; 0 never extends)",
    )
    @cell_magic
    def memhound_leaks(self, line: str, cell: str) -> None:
        """Run this cell again and again and show what grows each time: each leak's kinds,
        where it was allocated and what holds it. The cell's variables are those of its last run."""
        __tracebackhide__ = True
        args = parse_argstring(self.memhound_leaks, line)
        options = LeakOptions(
            iterations=args.iterations,
            warmup=args.warmup,
            min_bytes=args.min_bytes,
            budget=args.budget,
        )
        with _refusal_as_usage_error():
            code = compile_cell(self.shell, cell)
            check_cell(self.shell, code, options, display)
