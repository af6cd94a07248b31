"""`memhound report FILE`: the allocation sites that hold memory at the peak, at the end, or churn."""

from __future__ import annotations

import argparse
import sys

from memhound._capture import (
    add_view_arguments,
    add_window_arguments,
    read_capture,
    truncation_warning,
    window_of,
)
from memhound._core import TEMPORARY_WITHIN
from memhound.report import capture_info, dumps, render_sites, sites_document, trim_rows

DESCRIPTION = f"""\
Reads a capture written by `memhound run` (or memhound.Tracker) and prints the allocation
sites that hold the most memory, with their call stacks (innermost first) and source lines.
A capture recorded with `memhound run --native-frames` shows each native row's C stack under
its Python frames (always, when recorded; --json: "native_frames").

views:
  --peak       memory live at the moment the traced heap was largest (default)
  --leaks      memory allocated while tracing and never freed before the end
  --temporary  allocations freed with at most {TEMPORARY_WITHIN} other allocations of their
               thread in between (churn), ranked by how many were made"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="top allocation sites at the peak, at exit (leaks) or short-lived",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="a capture file (.bin)")
    add_view_arguments(parser)
    parser.add_argument(
        "--by",
        choices=("line", "function", "stack"),
        default="line",
        help="group allocations by source line (default), function, or whole call stack",
    )
    parser.add_argument(
        "-n",
        dest="limit",
        type=_site_count,
        default=10,
        metavar="N",
        help="show the top N sites (default 10; 0 shows all)",
    )
    add_window_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    capture = read_capture(args.file, window_of(args), progress=True)
    warning = truncation_warning(capture, args.file)
    if warning:
        print(f"memhound: warning: {warning}", file=sys.stderr)
    summary = capture.site_summary(args.view, args.by, args.limit)
    summary["sites"] = trim_rows(summary["sites"])
    info = capture_info(capture, args.file)
    if args.json:
        sys.stdout.write(dumps(sites_document(summary, view=args.view, by=args.by, info=info)))
    else:
        sys.stdout.write(render_sites(summary, view=args.view, by=args.by, info=info))
    return 0


def _site_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (all) or more")
    return value
