"""The chart as SVG, written by hand: a few elements, no dependency."""

from __future__ import annotations

from xml.sax.saxutils import escape

from memhound.timeline._chart import Chart

_FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


def svg_text(chart: Chart) -> str:
    opening = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{chart.width}" height="{chart.height}" '
        f'viewBox="0 0 {chart.width} {chart.height}" font-family="{_FONT}">'
    )
    out = [opening, f'<rect width="{chart.width}" height="{chart.height}" fill="#ffffff"/>']
    for line in chart.lines:
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        out.append(
            f'<line x1="{line.x1:.2f}" y1="{line.y1:.2f}" x2="{line.x2:.2f}" y2="{line.y2:.2f}" '
            f'stroke="{line.colour}" stroke-width="{line.width}"{dash}/>'
        )
    for polyline in chart.polylines:
        points = " ".join(f"{x:.2f},{y:.2f}" for x, y in polyline.points)
        out.append(
            f'<polyline class="{polyline.name}" points="{points}" fill="none" '
            f'stroke="{polyline.colour}" stroke-width="{polyline.width}" stroke-linejoin="round"/>'
        )
    for circle in chart.circles:
        out.append(
            f'<circle cx="{circle.x:.2f}" cy="{circle.y:.2f}" r="{circle.radius}" '
            f'fill="{circle.colour}"/>'
        )
    for text in chart.texts:
        out.append(
            f'<text x="{text.x:.2f}" y="{text.y:.2f}" font-size="{text.size}" '
            f'text-anchor="{text.anchor}" fill="{text.colour}">{escape(text.text)}</text>'
        )
    out.append("</svg>\n")
    return "\n".join(out)
