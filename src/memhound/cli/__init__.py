"""The `memhound` command line: one module per subcommand.

Errors from memhound itself (MemhoundError) become one line on stderr and exit code 2;
the observed program's own exit code is passed through by the commands that run programs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from memhound._errors import MemhoundError

USAGE_ERROR = 2

# The commands that run a program take python's own command line (their options, then the
# program and its arguments) and parse it themselves: each module exposes SUMMARY and
# main(words). `memhound run` is parsed without argparse, whose import and gettext lookups
# would add about 9 ms to the start-up of every traced program.
PROGRAM_COMMANDS = ("run", "heap", "runtime", "unittest", "lines")


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        if words and words[0] in PROGRAM_COMMANDS:
            return importlib.import_module(f"memhound.cli.{words[0]}").main(words[1:])
        from memhound.cli._parser import build_parser

        args = build_parser(words).parse_args(words)
        return int(args.handler(args) or 0)
    except MemhoundError as exc:
        print(f"memhound: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("memhound: interrupted", file=sys.stderr)
        return 130
