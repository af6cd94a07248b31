"""The `memhound` command line: one module per subcommand, each exposing `add_parser` and `run`.

Errors from memhound itself (MemhoundError) become one line on stderr and exit code 2;
the observed program's own exit code is passed through by the commands that run programs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from memhound import __version__
from memhound._errors import MemhoundError
from memhound.cli import heap, leaks, report, run, stats

# Order here is the order in `memhound --help`.
SUBCOMMANDS: tuple[ModuleType, ...] = (run, report, stats, heap, leaks)

USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="memhound",
        description="Find where a Python program's memory goes and why it stays.",
    )
    parser.add_argument("--version", action="version", version=f"memhound {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except MemhoundError as exc:
        print(f"memhound: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("memhound: interrupted", file=sys.stderr)
        return 130
