"""`memhound heap`: run a program, then show what is in its heap and what keeps the most alive.

The snapshot is taken when the program's own code has finished (normally, by an exception or by
sys.exit), while its globals still exist: before runpy drops the program's module and before
interpreter teardown.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from memhound import _program
from memhound._errors import UsageError
from memhound._program import require_program, run_program, split_command_line
from memhound._runtime._pymalloc import current_rss
from memhound._snapshot import Snapshot, own_code, snapshot
from memhound.report._rows import is_large_gap

DESCRIPTION = """\
Runs a Python program (a script, -m module or -c code, with its arguments) as `python` would.
When the program's code has finished, memhound walks every live object and prints the census by
type (count, own bytes, bytes kept alive) and the objects that keep the most memory alive, each
with the path that keeps it alive. The program's exit code is passed through.

options go before the program:
  memhound heap -n 20 app.py --port 8000
  memhound heap --json -m mypackage.worker > heap.json
  memhound heap -c "import json; data = [dict(a=i) for i in range(10**5)]\""""


SUMMARY = "run a Python program and show its heap at exit"


def own_parser() -> argparse.ArgumentParser:
    """The parser of `memhound heap`'s own options, the words before the program."""
    from memhound.cli._parser import CommandParser

    parser = CommandParser(
        prog="memhound heap",
        usage="%(prog)s [-h] [--json] [-n N] (script.py | -m MODULE | -c CODE) [args ...]",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "-n", type=_positive_int, default=10, metavar="N", help="rows of each table (default: 10)"
    )
    return parser


def main(words: Sequence[str]) -> int:
    own, program = split_command_line(words, ("-n",))
    args = own_parser().parse_args(own)
    return run(require_program(program), args.json, args.n)


def run(program: _program.Program, as_json: bool, rows: int) -> int:
    reports: list[dict[str, Any]] = []
    code = run_program(program, around=report_at_end(lambda: reports.append(_report_now(rows))))
    if not reports:
        raise UsageError("the program ended before its code ran; no snapshot was taken")
    report = reports[0]
    sys.stdout.write(json.dumps(report, indent=2) + "\n" if as_json else render_text(report))
    return code


def report_at_end(report: Callable[[], None]) -> Callable[[Callable[[], None]], None]:
    """An `around` for run_program that calls `report` when the program's own code has finished
    (also by an exception or sys.exit), while its namespace is alive (`memhound runtime` too)."""

    def around(body: Callable[[], None]) -> None:
        with _program_end_hook(report):
            body()

    return around


@contextmanager
def _program_end_hook(report: Callable[[], None]) -> Iterator[None]:
    """Calls `report` right after the program's code runs, inside runpy (-m) or
    memhound._program's exec (script, -c), where the program's namespace is still alive: paths are
    labelled from live objects, so the report is made there too."""
    original_run_code = runpy._run_code  # type: ignore[attr-defined]

    def snapshot_after(run: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            outermost = not _running[0]
            _running[0] = True
            try:
                return run(*args, **kwargs)
            finally:
                if outermost:
                    report()
                    _running[0] = False

        own_code(wrapper)
        return wrapper

    runpy._run_code = snapshot_after(original_run_code)  # type: ignore[attr-defined]
    _program.exec = snapshot_after(exec)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        runpy._run_code = original_run_code  # type: ignore[attr-defined]
        del _program.exec  # type: ignore[attr-defined]
        _running[0] = False


_running = [False]  # inside the program's code (a program may use runpy itself)


def _report_now(rows: int) -> dict[str, Any]:
    # RSS first: the snapshot's own graph (about 30 bytes per object) is not the program's.
    rss = current_rss()
    return heap_report(snapshot(), rows, rss)


def heap_report(snap: Snapshot, n: int, rss: int | None = None) -> dict[str, Any]:
    """Plain data for the renderers: totals, counted bytes against `rss` (the process's RSS at
    the snapshot, None when unknown), census rows and top retainers."""
    snap.compute()
    return {
        "objects": snap.object_count,
        "total_bytes": snap.total_size,
        "memory": memory_against_rss(snap.total_size, rss),
        "by_type": [
            {
                "type": r.type,
                "count": r.count,
                "shallow_bytes": r.shallow_bytes,
                "retained_bytes": r.retained_bytes,
            }
            for r in snap.by_type(n)
        ],
        "largest": [
            {
                "type": r.type,
                "shallow_bytes": r.shallow_bytes,
                "retained_bytes": r.retained_bytes,
                "path": str(r.path) if r.path is not None else None,
                "root_kind": r.path.root_kind if r.path is not None else None,
            }
            for r in snap.largest(n)
        ],
    }


def memory_against_rss(counted: int, rss: int | None) -> dict[str, Any] | None:
    """The snapshot's bytes against the process's RSS; None when the RSS is unknown."""
    if rss is None:
        return None
    unexplained = max(0, rss - counted)
    return {
        "counted_bytes": counted,
        "rss_bytes": rss,
        "unexplained_bytes": unexplained,
        "large_gap": is_large_gap(unexplained, rss),
    }


def memory_line(memory: dict[str, Any] | None) -> str:
    """How much of the RSS the counted objects explain, with a hint when much of it is not in
    any object; '' when the RSS is unknown."""
    if memory is None:
        return ""
    line = (
        f"Objects hold {_bytes(memory['counted_bytes'])} of {_bytes(memory['rss_bytes'])} RSS; "
        f"{_bytes(memory['unexplained_bytes'])} is in no object"
    )
    if memory["large_gap"]:
        line += " (native memory?): run `memhound run --native` to see where it was allocated"
    return line


def render_text(report: dict[str, Any]) -> str:
    lines = [f"heap at exit: {report['objects']:,} objects, {_bytes(report['total_bytes'])}"]
    memory = memory_line(report.get("memory"))
    lines += [memory, ""] if memory else [""]
    lines.append(f"{'type':<40} {'count':>10} {'own':>10} {'retained':>10}")
    for row in report["by_type"]:
        lines.append(
            f"{row['type'][:40]:<40} {row['count']:>10,} {_bytes(row['shallow_bytes']):>10} "
            f"{_bytes(row['retained_bytes']):>10}"
        )
    lines += ["", "largest retainers:"]
    for row in report["largest"]:
        lines.append(
            f"  {_bytes(row['retained_bytes']):>10}  {row['type']}  {row['path'] or '(no root)'}"
        )
    return "\n".join(lines) + "\n"


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value
