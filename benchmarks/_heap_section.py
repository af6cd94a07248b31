"""The heap-snapshot section: rows from heap_bench.run_heap_benchmarks(), run in a subprocess.

heap_bench.py is written by the heap snapshot's owner; its rows are shown as they come (one
column per key, in first-seen order). A row that carries a "bar" key also goes to the bars
summary: its verdict comes from "met" (true / false / absent = not measured), its figure from
"measured" when present.
"""

from __future__ import annotations

import sys

from _markdown import BarResult, Verdict, table
from _proc import run_json
from _section import SectionReport
from _stats import format_number
from _tools import BENCH_DIR

TITLE = "Heap snapshot"
HEAP_BENCH = BENCH_DIR / "heap_bench.py"
DRIVER = BENCH_DIR / "_heap_driver.py"
DESIGN_BARS = (
    "snapshot of 1.6M objects <= 0.25 s and <= 32 B/object; dominators + retained "
    "sizes <= 0.25 s; explain <= 50 ms"
)


def heap_section(quick: bool, timeout_s: float) -> SectionReport:
    if not HEAP_BENCH.exists():
        return _not_measured("benchmarks/heap_bench.py is not written yet")
    command = [sys.executable, str(DRIVER), *(["--quick"] if quick else [])]
    run = run_json(command, timeout_s)
    if run.error is not None:
        return _not_measured(f"heap_bench did not run: {run.error}")
    rows = [row for row in run.data if isinstance(row, dict)]
    if not rows:
        return _not_measured("heap_bench returned no rows")
    intro = (
        "Rows from `benchmarks/heap_bench.py` (`run_heap_benchmarks()`), run in a fresh "
        f"process{' in quick mode' if quick else ''}."
    )
    bars = [_row_bar(row) for row in rows if "bar" in row]
    if not bars:
        bars = [
            BarResult(
                "heap snapshot",
                DESIGN_BARS,
                "heap_bench rows carry no bar field",
                Verdict.NOT_MEASURED,
            )
        ]
    return SectionReport(TITLE, intro + "\n\n" + rows_table(rows), bars)


def rows_table(rows: list[dict]) -> str:
    """One column per key, in the order keys are first seen; a missing key is '-'."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    cells = [[format_number(row.get(column)) for column in columns] for row in rows]
    return table(columns, cells)


def _row_bar(row: dict) -> BarResult:
    what = str(row.get("what") or row.get("operation") or row.get("name") or "heap benchmark")
    if "tool" in row:
        what += f" ({row['tool']})"
    met = row.get("met")
    verdict = Verdict.NOT_MEASURED if met is None else (Verdict.MET if met else Verdict.NOT_MET)
    measured = row.get("measured", "see the heap table")
    return BarResult(what, str(row["bar"]), format_number(measured), verdict)


def _not_measured(reason: str) -> SectionReport:
    return SectionReport(
        TITLE,
        f"Not measured: {reason}.",
        [BarResult("heap snapshot", DESIGN_BARS, reason, Verdict.NOT_MEASURED)],
    )
