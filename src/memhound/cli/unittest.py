"""`memhound unittest [OPTIONS] [unittest's arguments]`: a unittest suite with a leak check of
every test, for projects that do not use pytest (see memhound._testing._unittest)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from memhound._errors import UsageError
from memhound._leaks._defaults import DEFAULT_BUDGET_S, parse_seconds
from memhound._testing._unittest import UnittestOptions, run_suite

SUMMARY = "run a unittest suite and check every test for leaks"
DEFAULT_ITERATIONS = 20
DEFAULT_WARMUP = 3
DEFAULT_MAX_SECONDS = 1.0
HELP = f"""\
usage: memhound unittest [--iterations N] [--warmup K] [--max-seconds S] [--budget TIME]
                         [--strict] [--json PATH] [ARGS...]

Runs a unittest suite as `python -m unittest ARGS...` does (discover, module names, -k, -v,
-f, ...) and checks every test that passes for leaks: a fresh instance of the test (setUp, the
test, tearDown; a doctest runs again as itself) is repeated, with setUpClass and setUpModule
set up once: 8 times first, and --iterations times only when those showed growth. A test that leaks
fails with the leak report; one that fails when repeated is listed as not repeatable. A summary
line ends the run. memhound's options come first; everything after them is unittest's.

options:
  --iterations N   traced repetitions of a test whose first 8 grew (default {DEFAULT_ITERATIONS};
                   fewer when they would take over 5 s)
  --warmup K       untraced repetitions first (default {DEFAULT_WARMUP})
  --max-seconds S  leave out tests whose run takes longer (default {DEFAULT_MAX_SECONDS:g})
  --budget TIME    time for more rounds when growth into a cache might stop at a limit
                   (default {DEFAULT_BUDGET_S:g}s)
  --strict         a test that is not repeatable fails
  --json PATH      write every test's verdict to PATH as JSON
  -h, --help       show this help and exit

Exit code: 0 when every test passed and none leaks, 1 otherwise, 2 on a usage error."""


def main(words: Sequence[str]) -> int:
    words = list(words)
    if words[:1] in (["-h"], ["--help"]):
        print(HELP)
        return 0
    options, arguments = _parse(words)
    sys.path.insert(0, "")  # as python -m unittest: the working directory's modules import
    return run_suite(arguments, options)


def _parse(words: list[str]) -> tuple[UnittestOptions, list[str]]:
    """memhound's leading options, and the words left for unittest."""
    counts = {"--iterations": DEFAULT_ITERATIONS, "--warmup": DEFAULT_WARMUP}
    strict, json_path, max_seconds, budget = False, None, DEFAULT_MAX_SECONDS, DEFAULT_BUDGET_S
    while words and words[0] in (*counts, "--max-seconds", "--budget", "--strict", "--json"):
        flag = words.pop(0)
        if flag == "--strict":
            strict = True
            continue
        if not words:
            raise UsageError(f"{flag} needs a value")
        value = words.pop(0)
        if flag == "--json":
            json_path = value
        elif flag == "--max-seconds":
            max_seconds = _seconds(value)
        elif flag == "--budget":
            budget = parse_seconds(value)
        else:
            counts[flag] = _count(flag, value)
    options = UnittestOptions(
        counts["--iterations"], counts["--warmup"], strict, json_path, max_seconds, budget
    )
    return options, words


def _count(flag: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"{flag} takes a whole number (got {value!r})") from None


def _seconds(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"--max-seconds takes a number of seconds (got {value!r})") from None
