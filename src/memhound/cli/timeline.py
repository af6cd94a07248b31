"""`memhound timeline FILE -o OUT.svg|OUT.png`: traced memory and RSS over time."""

from __future__ import annotations

import argparse
import sys

from memhound._capture import add_window_arguments, read_capture, truncation_warning, window_of
from memhound.timeline import picture_kind, write_timeline

DESCRIPTION = """\
Draws a capture's traced memory (what the allocator hooks saw live) and the process's RSS
(sampled every 20 ms) over time, with the traced peak marked. The picture format follows the
output's extension: .svg (no dependency) or .png (needs Pillow: pip install 'memhound[png]')."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "timeline",
        help="draw traced memory and RSS over time (SVG or PNG)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="a capture file (.bin)")
    parser.add_argument(
        "-o", dest="output", required=True, metavar="OUT", help="the picture to write: .svg or .png"
    )
    add_window_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    picture_kind(args.output)  # a bad name is refused before the capture is read
    capture = read_capture(args.file, window_of(args), progress=True)
    warning = truncation_warning(capture, args.file)
    if warning:
        print(f"memhound: warning: {warning}", file=sys.stderr)
    write_timeline(capture, args.output)
    return 0
