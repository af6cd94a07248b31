"""The timeline as a picture made of a few primitives (lines, polylines, texts, a circle), laid
out once and drawn by either backend (_svg, _png), so both files show the same picture."""

from __future__ import annotations

from dataclasses import dataclass, field

from memhound.report._format import format_bytes
from memhound.timeline._ticks import byte_ticks, format_seconds, time_ticks

WIDTH, HEIGHT = 900, 420
# The plot area inside the picture, in pixels.
LEFT, RIGHT, TOP, BOTTOM = 90, WIDTH - 30, 50, HEIGHT - 60
TRACED_COLOUR, RSS_COLOUR, PEAK_COLOUR = "#1f6fb4", "#e8800c", "#c8202a"
AXIS_COLOUR, GRID_COLOUR, TEXT_COLOUR = "#444444", "#dddddd", "#222222"


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    colour: str
    width: float = 1
    dashed: bool = False


@dataclass(frozen=True)
class Polyline:
    name: str  # "traced" or "rss"
    points: list[tuple[float, float]]
    colour: str
    width: float = 2


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: int = 12
    anchor: str = "start"  # "start", "middle" or "end", as in SVG
    colour: str = TEXT_COLOUR


@dataclass(frozen=True)
class Circle:
    x: float
    y: float
    radius: float
    colour: str


@dataclass
class Chart:
    width: int
    height: int
    lines: list[Line] = field(default_factory=list)
    polylines: list[Polyline] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    circles: list[Circle] = field(default_factory=list)


@dataclass(frozen=True)
class Series:
    """What the chart shows: seconds since the start, bytes."""

    title: str
    times: list[float]
    traced: list[float]
    rss: list[float]
    peak_bytes: float
    peak_time: float | None  # None: not known (no RSS sample on both sides of the peak)
    end_time: float


@dataclass(frozen=True)
class Scale:
    """Data to pixels: time along x, bytes up y."""

    top_time: float
    top_bytes: float

    def x(self, seconds: float) -> float:
        return LEFT + (RIGHT - LEFT) * seconds / self.top_time

    def y(self, size: float) -> float:
        return BOTTOM - (BOTTOM - TOP) * size / self.top_bytes


def layout(series: Series) -> tuple[Chart, Scale]:
    time_marks = time_ticks(max(series.end_time, max(series.times, default=0.0), 1e-3))
    byte_marks = byte_ticks(max([series.peak_bytes, *series.rss, *series.traced, 1024.0]))
    scale = Scale(time_marks[-1][0], byte_marks[-1][0])
    chart = Chart(WIDTH, HEIGHT)
    _axes(chart, scale, time_marks, byte_marks)
    traced = _with_peak(series)
    chart.polylines.append(Polyline("rss", _points(scale, series.times, series.rss), RSS_COLOUR))
    chart.polylines.append(Polyline("traced", _points(scale, *traced), TRACED_COLOUR))
    _peak(chart, scale, series)
    _legend(chart)
    chart.texts.append(Text(LEFT, 28, series.title, size=15))
    return chart, scale


def _with_peak(series: Series) -> tuple[list[float], list[float]]:
    """The traced samples with the peak put in at its time: samples every 20 ms miss it."""
    points = list(zip(series.times, series.traced, strict=True))
    if series.peak_time is not None:
        points.append((series.peak_time, series.peak_bytes))
        points.sort(key=lambda point: point[0])
    return [t for t, _ in points], [b for _, b in points]


def _points(scale: Scale, times: list[float], sizes: list[float]) -> list[tuple[float, float]]:
    return [(round(scale.x(t), 2), round(scale.y(b), 2)) for t, b in zip(times, sizes, strict=True)]


def _axes(chart: Chart, scale: Scale, time_marks: list, byte_marks: list) -> None:
    for value, label in byte_marks:
        y = scale.y(value)
        chart.lines.append(Line(LEFT, y, RIGHT, y, GRID_COLOUR))
        chart.texts.append(Text(LEFT - 8, y + 4, label, anchor="end"))
    for value, label in time_marks:
        x = scale.x(value)
        chart.lines.append(Line(x, BOTTOM, x, BOTTOM + 5, AXIS_COLOUR))
        chart.texts.append(Text(x, BOTTOM + 20, label, anchor="middle"))
    chart.lines.append(Line(LEFT, BOTTOM, RIGHT, BOTTOM, AXIS_COLOUR))
    chart.lines.append(Line(LEFT, TOP, LEFT, BOTTOM, AXIS_COLOUR))
    chart.texts.append(
        Text((LEFT + RIGHT) / 2, HEIGHT - 14, "time since tracing started", anchor="middle")
    )


def _peak(chart: Chart, scale: Scale, series: Series) -> None:
    y = scale.y(series.peak_bytes)
    chart.lines.append(Line(LEFT, y, RIGHT, y, PEAK_COLOUR, dashed=True))
    label = f"peak {format_bytes(series.peak_bytes)} traced"
    if series.peak_time is None:
        chart.texts.append(Text(RIGHT - 4, y - 6, label, anchor="end", colour=PEAK_COLOUR))
        return
    x = scale.x(series.peak_time)
    chart.circles.append(Circle(x, y, 5, PEAK_COLOUR))
    label += f" at {format_seconds(series.peak_time)}"
    anchor = "start" if x < (LEFT + RIGHT) / 2 else "end"
    chart.texts.append(
        Text(x + (9 if anchor == "start" else -9), y - 8, label, anchor=anchor, colour=PEAK_COLOUR)
    )


def _legend(chart: Chart) -> None:
    x, y = RIGHT - 250, TOP - 18
    for offset, (name, colour) in enumerate(
        (("traced memory", TRACED_COLOUR), ("RSS", RSS_COLOUR))
    ):
        left = x + offset * 150
        chart.lines.append(Line(left, y, left + 24, y, colour, width=3))
        chart.texts.append(Text(left + 30, y + 4, name))
