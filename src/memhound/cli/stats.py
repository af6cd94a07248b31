"""`memhound stats FILE`: totals, peak, allocation rate, size histogram and busiest sites."""

from __future__ import annotations

import argparse
import sys

from memhound._capture import add_window_arguments, read_capture, truncation_warning, window_of
from memhound.report import capture_info, dumps, render_stats, stats_document, trim_rows

DESCRIPTION = """\
Summarises a capture: how many allocations and frees, how many bytes, the traced peak,
what was still live at the end, the allocation rate, a histogram of allocation sizes and the
source lines that allocate most often. In sampled mode the figures are estimates."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "stats",
        help="totals, peak, allocation rate and size histogram of a capture",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="a capture file (.bin)")
    add_window_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    capture = read_capture(args.file, window_of(args), progress=True)
    warning = truncation_warning(capture, args.file)
    if warning:
        print(f"memhound: warning: {warning}", file=sys.stderr)
    stats = capture.stats()
    stats["top_sites"] = trim_rows(stats["top_sites"])
    info = capture_info(capture, args.file)
    sys.stdout.write(dumps(stats_document(stats, info)) if args.json else render_stats(stats, info))
    return 0
