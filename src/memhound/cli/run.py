"""`memhound run`: run a Python program the way `python` would, tracing its allocations."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

from memhound._errors import MemhoundError, UsageError
from memhound._program import (
    Program,
    require_program,
    run_program,
    split_command_line,
)
from memhound._tracker import Tracker

SUMMARY = "run a Python program and record its allocations"

HELP = """\
usage: memhound run [-h] [-o FILE] [--sample-bytes N] [--follow-fork] [--native]
                    [--native-frames]
                    (script.py | -m MODULE | -c CODE) [args ...]

Runs a Python program (a script, -m module or -c code, with its arguments) as `python` would,
recording every allocation with its full call stack into a capture file. The program's exit
code is passed through. Read the capture with `memhound report FILE` or `memhound stats FILE`.
Options go before the program; every word after it is the program's own.

examples:
  memhound run app.py --port 8000
  memhound run -o build/app.bin -m mypackage.worker
  memhound run --sample-bytes 1048576 service.py     # low-overhead sampling
  memhound run --native train.py                     # C extensions' malloc and mmap too
  memhound run --native-frames train.py              # and their C call stacks

program:
  script.py             the Python script to run
  -m MODULE             run a library module as a script
  -c CODE               run a program passed in as a string
  args                  arguments passed to the program

options:
  -h, --help            show this help message and exit
  -o FILE, --output FILE
                        capture file to write (default: memhound-<name>.<pid>.bin in the
                        current directory)
  --sample-bytes N      record a Poisson sample of the allocations, one per N allocated bytes
                        on average
  --follow-fork         a forked child writes its own capture to FILE.<child pid> (default: it
                        stops tracing)
  --native              trace the C allocator too: malloc, calloc, realloc, free, the aligned
                        allocators and anonymous mmap of every loaded library (C extensions),
                        each with the Python line that called into it
  --native-frames       --native, and the C call stack of each native allocation (the C
                        functions between the Python line and malloc, named when the capture
                        is read); reports show them under the Python frames
"""

# The options that take a value: the next word, or after "=" (also -oFILE).
_VALUED = ("-o", "--output", "--sample-bytes")


class RunOptions(NamedTuple):
    output: str | None = None
    sample_bytes: int | None = None
    follow_fork: bool = False
    native: bool = False
    native_frames: bool = False
    help: bool = False


def main(words: Sequence[str]) -> int:
    own, program = split_command_line(words, _VALUED)
    options = parse_options(own)
    if options.help:
        sys.stdout.write(HELP)
        return 0
    return run(options, require_program(program))


def parse_options(words: Sequence[str]) -> RunOptions:
    """`memhound run`'s own options (the words before the program)."""
    options = RunOptions()
    index = 0
    while index < len(words):
        word = words[index]
        name, equals, value = word.partition("=")
        if name.startswith("-o") and len(name) > 2:
            name, equals, value = "-o", "=", word[2:]
        if name in _VALUED and not equals:
            if index + 1 >= len(words):
                raise UsageError(f"option {name} needs a value")
            index += 1
            value = words[index]
        if name in ("-o", "--output"):
            options = options._replace(output=value)
        elif name == "--sample-bytes":
            options = options._replace(sample_bytes=_positive_int(value))
        elif equals:
            raise UsageError(f"option {name} takes no value")
        elif name == "--follow-fork":
            options = options._replace(follow_fork=True)
        elif name == "--native":
            options = options._replace(native=True)
        elif name == "--native-frames":
            options = options._replace(native=True, native_frames=True)
        elif name in ("-h", "--help"):
            options = options._replace(help=True)
        else:
            raise UsageError(f"unknown option {word!r} (see: memhound run --help)")
        index += 1
    return options


def run(options: RunOptions, program: Program) -> int:
    output = options.output or default_output(program)
    tracker = Tracker(
        output,
        sample_bytes=options.sample_bytes,
        follow_fork=options.follow_fork,
        native=options.native,
        native_frames=options.native_frames,
        argv=program.argv,
    )
    start_failures: list[MemhoundError] = []
    code = run_program(program, around=_traced(tracker, start_failures))
    if start_failures:
        raise start_failures[0]
    written = tracker.completed_path
    if written is not None:
        print(
            f"memhound: capture written to {written}; report it with: memhound report {_shell_word(written)}",
            file=sys.stderr,
        )
    return code


def _shell_word(path: str) -> str:
    """The path as one word for a shell; shlex (1 ms to import, at every exit) only when it must quote."""
    if path and all(c.isascii() and (c.isalnum() or c in "@%+=:,./-_") for c in path):
        return path
    import shlex

    return shlex.quote(path)


def default_output(program: Program) -> str:
    if program.module:
        name = program.module
    elif program.code is not None:
        name = "c"
    else:
        name = os.path.splitext(os.path.basename(os.path.normpath(program.script or "")))[0]
    return f"memhound-{name}.{os.getpid()}.bin"


def _traced(
    tracker: Tracker, start_failures: list[MemhoundError]
) -> Callable[[Callable[[], None]], None]:
    """Tracing around the program itself, not around memhound's own start-up.

    A failure to start is handed back (not raised) so that it ends as memhound's one-line error
    rather than as a traceback of the program.
    """

    def around(body: Callable[[], None]) -> None:
        try:
            tracker.start()
        except MemhoundError as exc:
            start_failures.append(exc)
            return
        try:
            body()
        finally:
            tracker.stop()

    return around


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise UsageError(f"--sample-bytes: expected a positive number of bytes, got {text!r}")
    return value
