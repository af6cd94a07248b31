"""The line tables: plain data (the JSON schema) from a function's figures, and the text table in
memory_profiler's shape (Line #, the byte columns, Occurrences, Line Contents)."""

from __future__ import annotations

import linecache
from typing import Any

from memhound._lines._engine import FunctionStats

SCHEMA_VERSION = 1


def function_report(stats: FunctionStats) -> dict[str, Any]:
    """One function: every line of its source, with the figures of those that ran."""
    rows = []
    for number, text in _source_lines(stats):
        figures = stats.lines.get(number)
        row: dict[str, Any] = {"line": number, "source": text}
        if figures is not None and (figures.occurrences or figures.allocated or figures.freed):
            row.update(
                allocated=figures.allocated,
                freed=figures.freed,
                net=figures.net,
                peak=figures.peak,
                occurrences=figures.occurrences,
            )
        rows.append(row)
    peaks = [f.peak for f in stats.lines.values() if f.peak is not None]
    return {
        "function": stats.name,
        "file": stats.filename,
        "first_line": stats.first_line,
        "threads": stats.threads,
        "calls": stats.calls,
        "allocated": sum(f.allocated for f in stats.lines.values()),
        "freed": sum(f.freed for f in stats.lines.values()),
        "peak": max(peaks) if peaks else 0,
        "lines": rows,
    }


def report(functions: list[FunctionStats]) -> dict[str, Any]:
    return {"schema": SCHEMA_VERSION, "functions": [function_report(s) for s in functions]}


_HEADER = f"{'Line #':>6} {'Allocated':>11} {'Freed':>11} {'Net':>11} {'Peak':>11} {'Occurrences':>12}   Line Contents"


def render_function(data: dict[str, Any]) -> str:
    net = data["allocated"] - data["freed"]
    lines = [
        f"Filename: {data['file']}",
        (
            f"Function: {data['function']} (line {data['first_line']}), {data['calls']:,} "
            f"call{'s' if data['calls'] != 1 else ''}, threads: {data['threads']}; "
            f"allocated {_bytes(data['allocated'])}, freed {_bytes(data['freed'])}, "
            f"net {_bytes(net)}, peak {_bytes(data['peak'])}"
        ),
        "",
        _HEADER,
        "=" * len(_HEADER),
    ]
    for row in data["lines"]:
        if "occurrences" in row:
            figures = (
                f"{_bytes(row['allocated']):>11} {_bytes(row['freed']):>11} {_bytes(row['net']):>11} "
                f"{_bytes(row['peak']):>11} {row['occurrences']:>12,}"
            )
        else:
            figures = " " * 60
        lines.append(f"{row['line']:>6} {figures}   {row['source']}")
    return "\n".join(lines) + "\n"


def render(data: dict[str, Any]) -> str:
    if not data["functions"]:
        return "no profiled function ran\n"
    return "\n\n".join(render_function(f) for f in data["functions"])


def _source_lines(stats: FunctionStats) -> list[tuple[int, str]]:
    """The function's lines as the file has them (its decorators included), or just the lines
    that ran when the source is not there."""
    text = linecache.getlines(stats.filename)
    if not text:
        return [(n, "") for n in sorted(stats.lines)]
    import inspect  # 10 ms of imports, paid when a report is made

    start = stats.first_line
    try:
        block = inspect.getblock(text[start - 1 :])
    except (IndexError, SyntaxError, inspect.EndOfBlock):
        block = text[start - 1 : start]
    last = max([start + len(block) - 1, *stats.lines])
    return [(n, text[n - 1].rstrip("\n") if n <= len(text) else "") for n in range(start, last + 1)]


def _bytes(n: int | None) -> str:
    if n is None:
        return ""
    size = float(abs(n))
    sign = "-" if n < 0 else ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{sign}{size:.0f} {unit}" if unit == "B" else f"{sign}{size:.1f} {unit}"
        size /= 1024
    return f"{sign}{size:.1f} GiB"
