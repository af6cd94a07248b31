"""The chart as PNG, drawn with Pillow (the `png` extra): the same primitives as the SVG."""

from __future__ import annotations

import io

from memhound._errors import UsageError
from memhound.timeline._chart import Chart

_ANCHORS = {"start": "ls", "middle": "ms", "end": "rs"}  # Pillow's: left/middle/right, baseline


def png_bytes(chart: Chart) -> bytes:
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:
        raise UsageError(
            "a PNG timeline needs Pillow (pip install 'memhound[png]'); "
            "or write an .svg, which needs nothing"
        ) from None
    image = Image.new("RGB", (chart.width, chart.height), "#ffffff")
    draw = ImageDraw.Draw(image)
    for line in chart.lines:
        if line.dashed:
            _dashed(draw, line)
        else:
            draw.line(
                [(line.x1, line.y1), (line.x2, line.y2)], fill=line.colour, width=round(line.width)
            )
    for polyline in chart.polylines:
        if len(polyline.points) > 1:
            draw.line(
                polyline.points, fill=polyline.colour, width=round(polyline.width), joint="curve"
            )
        elif polyline.points:
            x, y = polyline.points[0]
            draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=polyline.colour)
    for circle in chart.circles:
        r = circle.radius
        draw.ellipse([circle.x - r, circle.y - r, circle.x + r, circle.y + r], fill=circle.colour)
    fonts: dict[int, object] = {}
    for text in chart.texts:
        font = fonts.setdefault(text.size, ImageFont.load_default(size=text.size))
        draw.text(
            (text.x, text.y), text.text, fill=text.colour, font=font, anchor=_ANCHORS[text.anchor]
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _dashed(draw, line) -> None:
    """Pillow has no dashes: 6 pixels on, 4 off, along the line."""
    length = ((line.x2 - line.x1) ** 2 + (line.y2 - line.y1) ** 2) ** 0.5
    if length == 0:
        return
    dx, dy = (line.x2 - line.x1) / length, (line.y2 - line.y1) / length
    at = 0.0
    while at < length:
        end = min(at + 6, length)
        start = (line.x1 + dx * at, line.y1 + dy * at)
        draw.line(
            [start, (line.x1 + dx * end, line.y1 + dy * end)],
            fill=line.colour,
            width=round(line.width),
        )
        at += 10
