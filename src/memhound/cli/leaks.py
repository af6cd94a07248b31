"""`memhound leaks TARGET`: repeat a unit of work and report what leaks.

Exit code 0 when clean, 1 when leaks were found, 2 on a usage error (a bad target, a bad
option, a unit of work that raises).
"""

from __future__ import annotations

import argparse
import json
import sys

from memhound._errors import UsageError
from memhound._leaks import DEFAULT_ITERATIONS, DEFAULT_MIN_BYTES, DEFAULT_WARMUP
from memhound._leaks._defaults import DEFAULT_BUDGET_S, seconds_argument
from memhound._leaks._model import LeakReport
from memhound._leaks._render import render_text
from memhound._leaks._target import resolve_target
from memhound.report.html import render_leaks_html, write_html

LEAKS_FOUND = 1

DESCRIPTION = """\
Calls TARGET a few times to warm up, then --iterations times under the tracer with a
checkpoint after each call. Whatever grows at every checkpoint is a leak: each is reported
with its kinds (global, class_attribute, closure, default_argument, thread_local, cycle,
resource, traceback, cache, listener, task, native), its growth per iteration, where it was
allocated, the path that keeps it alive, and whether the program's own code holds it or only a
library does (the program's leaks come first). Growth through a bounded cache that has not
reached its bound (an lru_cache with a maxsize, a deque with a maxlen, re's cache, an object
with a capacity or maxsize attribute) is listed apart, as a cache filling, and is no leak.
When growth goes into a cache that may stop at a limit of its own, more rounds run (each twice
the last, up to 8 times --iterations) within --budget. TARGET is
path/to/file.py:function or package.module:function; the function gets the iteration number if
it takes one parameter. TARGET may also be a pytest test id
(tests/test_x.py::TestCase::test_method): the test's whole protocol, fixtures included, is
repeated through memhound's pytest plugin.
Exit code: 0 clean, 1 leaks found, 2 usage error."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "leaks",
        help="find what a repeated unit of work leaks, and why",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "target",
        metavar="TARGET",
        help="path/to/file.py:function, package.module:function or a pytest test id",
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=DEFAULT_ITERATIONS,
        metavar="N",
        help=f"traced calls of the unit of work (default {DEFAULT_ITERATIONS})",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=DEFAULT_WARMUP,
        metavar="K",
        help=f"untraced calls first, so that caches fill (default {DEFAULT_WARMUP})",
    )
    parser.add_argument(
        "--budget",
        type=seconds_argument,
        default=DEFAULT_BUDGET_S,
        metavar="TIME",
        help="time the check may spend on more iterations when its evidence is ambiguous: "
        "growth into a cache that may stop at a limit of its own (e.g. 10s, 500ms, 2m; "
        f"default {DEFAULT_BUDGET_S:g}s; 0 never extends)",
    )
    parser.add_argument(
        "--json", metavar="PATH", help="also write the report as JSON to PATH ('-': stdout)"
    )
    parser.add_argument(
        "--html",
        metavar="PATH",
        help="also write the report as one self-contained HTML page to PATH (flame graph of "
        "the leaks' allocation stacks, their kinds and retention paths)",
    )
    parser.add_argument(
        "--min-bytes",
        type=float,
        default=DEFAULT_MIN_BYTES,
        metavar="B",
        help=f"ignore growth below B bytes per iteration (default {DEFAULT_MIN_BYTES})",
    )
    parser.add_argument(
        "--native-frames",
        action="store_true",
        help="record the C call stack of native allocations too: native leaks show the C "
        "functions under their Python line",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from memhound._leaks._detect import check_leaks  # loads the detector only for this command
    from memhound._testing._test_id import check_test_id, is_test_id

    if is_test_id(args.target):
        return check_test_id(args.target, args.iterations, args.json, args.budget, args.html)
    unit = resolve_target(args.target)
    report = check_leaks(
        unit,
        iterations=args.iterations,
        warmup=args.warmup,
        min_bytes=args.min_bytes,
        budget=args.budget,
        native_frames=args.native_frames,
    )
    _write(report, args.json)
    if args.html:
        write_html(render_leaks_html(report), args.html)
    return LEAKS_FOUND if report.leaked else 0


def _write(report: LeakReport, json_path: str | None) -> None:
    if json_path == "-":
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    print(render_text(report))
    if json_path:
        try:
            with open(json_path, "w", encoding="utf-8") as out:
                json.dump(report.to_json(), out, indent=2)
                out.write("\n")
        except OSError as exc:
            raise UsageError(f"can't write '{json_path}': {exc.strerror}") from None
