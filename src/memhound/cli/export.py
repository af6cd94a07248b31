"""`memhound export FILE --format F -o OUT`: one view of a capture for profile viewers."""

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
from memhound.export import FORMATS, write_export

DESCRIPTION = """\
Writes one view of a capture in a format that profile viewers read:

  speedscope  JSON for https://www.speedscope.app (drop the file on the page): two sampled
              profiles of the view, weighted in bytes and in allocations
  pprof       gzipped profile.proto for `go tool pprof -http=: OUT`, Pyroscope and Grafana:
              sample types alloc_objects, alloc_space (every allocation made) and
              inuse_objects, inuse_space (held in the view); temporary has the alloc pair only
  collapsed   `outer;...;inner BYTES` per stack, for flamegraph.pl and similar tools

views:
  --peak       memory live at the moment the traced heap was largest (default)
  --leaks      memory allocated while tracing and never freed before the end
  --temporary  short-lived allocations (see `memhound report --help`)

In sampled mode the amounts are the estimates of the true amounts, as in every report."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a view of a capture for speedscope, pprof or flame graphs",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="a capture file (.bin)")
    parser.add_argument(
        "--format", "-f", required=True, choices=FORMATS, help="the file format to write"
    )
    parser.add_argument("-o", dest="output", required=True, metavar="OUT", help="the file to write")
    add_view_arguments(parser)
    add_window_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    capture = read_capture(args.file, window_of(args), progress=True)
    warning = truncation_warning(capture, args.file)
    if warning:
        print(f"memhound: warning: {warning}", file=sys.stderr)
    write_export(capture, args.format, args.view, args.output)
    return 0
