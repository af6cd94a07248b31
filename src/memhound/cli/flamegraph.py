"""`memhound flamegraph FILE -o report.html`: one self-contained HTML page of a capture view."""

from __future__ import annotations

import argparse
import os
import sys

from memhound._capture import (
    add_view_arguments,
    add_window_arguments,
    read_capture,
    truncation_warning,
    window_of,
)
from memhound.report.html import render_capture_html, write_html

DESCRIPTION = """\
Reads a capture written by `memhound run` (or memhound.Tracker) and writes one HTML file that
opens in any browser without network access: a flame graph of the view (width: bytes; hover a
frame for its bytes, allocations, file:line and source line; click to zoom, search to highlight),
a sortable table of the sites by line, and a timeline of traced memory and RSS with the peak
marked, where dragging across a part of the run shows what was live then.

views:
  --peak       memory live at the moment the traced heap was largest (default)
  --leaks      memory allocated while tracing and never freed before the end
  --temporary  allocations freed within a few allocations of their thread (churn)"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "flamegraph",
        help="an HTML report: flame graph, sites table and timeline of a capture",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="a capture file (.bin)")
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="the HTML file to write (default: FILE with .html in place of its extension)",
    )
    add_view_arguments(parser)
    add_window_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    output = args.output or os.path.splitext(args.file)[0] + ".html"
    capture = read_capture(args.file, window_of(args), progress=True)
    warning = truncation_warning(capture, args.file)
    if warning:
        print(f"memhound: warning: {warning}", file=sys.stderr)
    write_html(render_capture_html(capture, args.view, path=args.file), output)
    print(f"memhound: wrote {output}", file=sys.stderr)
    return 0
