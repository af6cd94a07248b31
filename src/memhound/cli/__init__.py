"""The `memhound` command line: one module per subcommand, each exposing `add_parser` and `run`.

Errors from memhound itself (MemhoundError) become one line on stderr and exit code 2;
the observed program's own exit code is passed through by the commands that run programs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from memhound import __version__
from memhound._errors import MemhoundError

# The modules memhound.cli.<name>; the order here is the order in `memhound --help`.
SUBCOMMANDS = ("run", "report", "stats", "heap", "leaks")

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The `memhound` parser. When argv starts with a subcommand, only that subcommand is loaded
    and built: `memhound run` starts the traced program sooner. Otherwise all are, for the
    overview help and for errors that list them."""
    parser = _Parser(
        prog="memhound",
        description="Find where a Python program's memory goes and why it stays.",
    )
    parser.add_argument("--version", action="version", version=f"memhound {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    args = sys.argv[1:] if argv is None else argv
    chosen = [args[0]] if args and args[0] in SUBCOMMANDS else SUBCOMMANDS
    for name in chosen:
        importlib.import_module(f"memhound.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except MemhoundError as exc:
        print(f"memhound: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("memhound: interrupted", file=sys.stderr)
        return 130
