"""The argparse parser of the commands that read files (report, flamegraph, stats, export,
timeline, leaks), and of `memhound --help`, which lists every command."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from memhound import __version__
from memhound.cli import PROGRAM_COMMANDS, USAGE_ERROR

# The modules memhound.cli.<name> parsed by argparse, each exposing `add_parser` and `run`.
PARSED_COMMANDS = ("report", "stats", "leaks", "flamegraph", "export", "timeline")
# The order of `memhound --help`.
ALL_COMMANDS = (
    "run",
    "report",
    "flamegraph",
    "stats",
    "export",
    "timeline",
    "heap",
    "leaks",
    "lines",
    "runtime",
    "unittest",
)


class CommandParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser(words: Sequence[str]) -> argparse.ArgumentParser:
    """The `memhound` parser. When `words` start with a command, only that command is loaded
    and built; otherwise all are, for the overview help and for errors that list them."""
    parser = CommandParser(
        prog="memhound",
        description="Find where a Python program's memory goes and why it stays.",
    )
    parser.add_argument("--version", action="version", version=f"memhound {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    sub.required = True
    chosen = [words[0]] if words and words[0] in PARSED_COMMANDS else ALL_COMMANDS
    for name in chosen:
        module = importlib.import_module(f"memhound.cli.{name}")
        if name in PROGRAM_COMMANDS:
            # Listed for the overview only: main() hands these commands their words directly.
            sub.add_parser(name, help=module.SUMMARY, add_help=False)
        else:
            module.add_parser(sub)
    return parser
