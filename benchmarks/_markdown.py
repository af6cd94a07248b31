"""Markdown building blocks: tables and bar verdicts. Plain data in, text out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class Verdict(Enum):
    MET = "met"
    NOT_MET = "not met"
    NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class BarResult:
    """One line of the 'Bars' summary: a DESIGN.md performance bar and what this run measured."""

    what: str
    bar: str
    measured: str
    verdict: Verdict


def verdict_of(value: float | None, limit: float, lower_is_better: bool = True) -> Verdict:
    if value is None:
        return Verdict.NOT_MEASURED
    passed = value <= limit if lower_is_better else value >= limit
    return Verdict.MET if passed else Verdict.NOT_MET


def escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table; every row must have as many cells as the header."""
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row has {len(row)} cells, header has {len(header)}: {row!r}")
    lines = [
        "| " + " | ".join(escape_cell(cell) for cell in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(escape_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def bars_table(results: Sequence[BarResult]) -> str:
    rows = [[r.what, r.bar, r.measured, f"**{r.verdict.value}**"] for r in results]
    return table(["what", "bar (DESIGN.md)", "measured", "verdict"], rows)


def replace_section(document: str, title: str, new: str) -> str:
    """`document` with its "## title" block (up to the next "## ") replaced by `new`, or `new`
    appended when it has no such block."""
    start = document.find(title + "\n")
    if start == -1:
        return document.rstrip("\n") + "\n\n" + new
    following = document.find("\n## ", start + len(title))
    end = len(document) if following == -1 else following + 1
    return document[:start] + new + ("\n" if following != -1 else "") + document[end:]


def write_section(path: str | None, title: str, text: str) -> None:
    """Replaces the "## title" block of the file at `path` with `text`; prints it without a path."""
    if path is None:
        print(text)
        return
    document = Path(path)
    document.write_text(
        replace_section(document.read_text(encoding="utf-8"), title, text), encoding="utf-8"
    )
