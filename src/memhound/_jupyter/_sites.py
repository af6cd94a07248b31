"""The top allocation sites of a traced cell, as text and as an HTML table, over plain rows
(report.SiteSummary): each site named as the notebook names it (`Cell In[3], line 2`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from memhound._jupyter._output import escape, section
from memhound.report import CaptureInfo, FrameRow, SiteRow, SiteSummary, format_bytes, format_count

Where = Callable[[FrameRow], str]
Source = Callable[[str, int | None], str]

# Callers listed under a site (by stack: all of them).
CALLERS_SHOWN = 4

_VIEW_TITLES = {
    "peak": "Memory live at the cell's peak",
    "leaks": "Memory the cell left allocated",
    "temporary": "Temporary allocations of the cell (freed soon after being made)",
}


@dataclass(frozen=True)
class SitesView:
    """What the table shows: the rows, and how to name frames and read their source."""

    summary: SiteSummary
    view: str
    by: str
    info: CaptureInfo
    where: Where
    source: Source
    kept_at: str | None = None  # the capture file the user asked to keep (-o)

    def title(self) -> str:
        summary = self.summary
        return (
            f"{_VIEW_TITLES[self.view]}: {format_bytes(summary['total_bytes'])} in "
            f"{format_count(summary['total_count'])} allocations (top {len(summary['sites'])} "
            f"of {summary['site_count']} sites by {self.by})"
        )

    def notes(self) -> list[str]:
        header = self.info["header"]
        mode = f"{header.get('mode', 'full')} mode"
        if header.get("mode") == "sampled":
            mode += f" (one sample per {format_bytes(header.get('sample_bytes', 0))}; estimates)"
        if header.get("native"):
            mode += ", native allocations included"
        kept = f"capture kept in {self.kept_at} (memhound report {self.kept_at})"
        # No line on the peak RSS: it is the whole kernel's, most of it from before the cell.
        return [mode, kept if self.kept_at else ""]

    def share(self, row: SiteRow) -> str:
        part, total = (
            (row["count"], self.summary["total_count"])
            if self.view == "temporary"
            else (row["bytes"], self.summary["total_bytes"])
        )
        return f"{100.0 * part / total:.1f}%" if total > 0 else "-"

    def callers(self, row: SiteRow) -> list[FrameRow]:
        frames = row["frames"][1:]
        return frames if self.by == "stack" else frames[:CALLERS_SHOWN]

    def innermost(self, row: SiteRow) -> str:
        return self.where(row["frames"][0]) if row["frames"] else "<no Python frame>"

    def allocator(self, row: SiteRow) -> str:
        allocator = row.get("allocator", "pymem")
        return "" if allocator == "pymem" else f" [{allocator}]"


_WIDTHS = (4, 11, 8, 10)


def render_text(view: SitesView) -> str:
    lines = [view.title(), *(note for note in view.notes() if note)]
    if not view.summary["sites"]:
        return "\n".join([*lines, "No allocations of the cell in this view."])
    names = ("#", "bytes", "share", "count")
    lines.append("".join(n.rjust(w) for n, w in zip(names, _WIDTHS)) + "  where")
    indent = " " * (sum(_WIDTHS) + 2)
    for rank, row in enumerate(view.summary["sites"], start=1):
        cells = (str(rank), format_bytes(row["bytes"]), view.share(row), format_count(row["count"]))
        where = view.innermost(row) + view.allocator(row)
        lines.append("".join(c.rjust(w) for c, w in zip(cells, _WIDTHS)) + "  " + where)
        for index, frame in enumerate(row["frames"][: 1 + len(view.callers(row))]):
            if index:
                lines.append(f"{indent}from {view.where(frame)}")
            text = view.source(frame["file"], frame["line"])
            if text:
                lines.append(f"{indent}    {text}")
    return "\n".join(lines)


def render_html(view: SitesView) -> str:
    if not view.summary["sites"]:
        return section(
            view.title(), view.notes(), "<p>No allocations of the cell in this view.</p>"
        )
    head = (
        "".join(f'<th class="num">{name}</th>' for name in ("#", "bytes", "share", "count"))
        + "<th>where</th><th>source</th>"
    )
    rows = "".join(_html_row(view, rank, row) for rank, row in enumerate(view.summary["sites"], 1))
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    return section(view.title(), view.notes(), table)


def _html_row(view: SitesView, rank: int, row: SiteRow) -> str:
    numbers = (rank, format_bytes(row["bytes"]), view.share(row), format_count(row["count"]))
    cells = "".join(f'<td class="num">{escape(value)}</td>' for value in numbers)
    where = escape(view.innermost(row) + view.allocator(row))
    callers = view.callers(row)
    if callers:
        listed = "".join(f"<div>from {escape(view.where(frame))}</div>" for frame in callers)
        where = f"<details><summary>{where}</summary>{listed}</details>"
    source = (
        view.source(row["frames"][0]["file"], row["frames"][0]["line"]) if row["frames"] else ""
    )
    return f"<tr>{cells}<td>{where}</td><td><code>{escape(source)}</code></td></tr>"
