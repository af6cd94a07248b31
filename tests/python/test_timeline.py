"""`memhound timeline`: the SVG's polylines follow the capture's timeline on the axes its tick
labels state, the PNG shows the same picture in pixels, and bad names or files get one line."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cli_contract import run_memhound, write_program
from PIL import Image

from memhound._capture import read_capture
from memhound.timeline import _chart
from memhound.timeline._ticks import byte_ticks, nice_step, time_ticks

PROGRAM = """\
import time

blocks = []
for _ in range(40):
    blocks.append(bytearray(1 << 20))
    time.sleep(0.012)
del blocks[:30]
time.sleep(0.15)
"""

SVG = "{http://www.w3.org/2000/svg}"
_UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "ms": 1e-3, "s": 1.0, "min": 60.0}


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("timeline")
    script = write_program(folder, PROGRAM)
    done = run_memhound("run", "-o", str(folder / "grow.bin"), str(script), cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "grow.bin"


def draw(capture: Path, name: str) -> Path:
    out = capture.with_name(name)
    done = run_memhound("timeline", str(capture), "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out


def label_value(text: str) -> float:
    number, unit = text.split()
    return float(number) * _UNITS[unit]


class Axes:
    """The data-to-pixel mapping as the picture states it: its plot area and the values of its
    last tick labels on each axis."""

    def __init__(self, root: ET.Element) -> None:
        texts = [(float(t.get("x")), float(t.get("y")), t.text) for t in root.iter(f"{SVG}text")]
        y_labels = [(y, text) for x, y, text in texts if x == _chart.LEFT - 8]
        x_labels = [(x, text) for x, y, text in texts if y == _chart.BOTTOM + 20]
        self.y_labels = [text for _, text in sorted(y_labels, reverse=True)]
        self.x_labels = [text for _, text in sorted(x_labels)]
        self.top_bytes = label_value(self.y_labels[-1])
        self.top_time = label_value(self.x_labels[-1])

    def pixel(self, seconds: float, size: float) -> tuple[float, float]:
        x = _chart.LEFT + (_chart.RIGHT - _chart.LEFT) * seconds / self.top_time
        y = _chart.BOTTOM - (_chart.BOTTOM - _chart.TOP) * size / self.top_bytes
        return x, y


def polyline(root: ET.Element, name: str) -> list[tuple[float, float]]:
    (line,) = [p for p in root.iter(f"{SVG}polyline") if p.get("class") == name]
    return [tuple(map(float, point.split(","))) for point in line.get("points").split()]


def test_svg_polylines_follow_the_timeline(capture: Path) -> None:
    root = ET.parse(draw(capture, "t.svg")).getroot()
    assert (root.get("width"), root.get("height")) == (str(_chart.WIDTH), str(_chart.HEIGHT))
    axes = Axes(root)
    analysed = read_capture(capture)
    points = analysed.timeline()
    assert len(points) >= 10  # about 0.65 s at one sample per 20 ms
    rss = polyline(root, "rss")
    assert len(rss) == len(points)
    for drawn, point in zip(rss, points, strict=True):
        assert drawn == pytest.approx(axes.pixel(point["time_s"], point["rss_bytes"]), abs=0.02)
    traced = polyline(root, "traced")
    expected = [(p["time_s"], p["traced_bytes"]) for p in points]
    expected.append((analysed.peak_time_s, analysed.peak_bytes))  # the peak, between samples
    expected.sort()
    assert len(traced) == len(expected)
    for drawn, point in zip(traced, expected, strict=True):
        assert drawn == pytest.approx(axes.pixel(*point), abs=0.02)


def test_svg_marks_the_peak_and_has_readable_ticks_and_a_legend(capture: Path) -> None:
    root = ET.parse(draw(capture, "t.svg")).getroot()
    axes = Axes(root)
    analysed = read_capture(capture)
    # 40 MiB were live at the peak: the y axis counts in MiB, by 1, 2 or 5 times 10^k.
    assert analysed.peak_bytes > 40 << 20
    assert all(label.endswith(" MiB") for label in axes.y_labels[1:])
    steps = {
        round(label_value(b) - label_value(a)) for a, b in zip(axes.y_labels, axes.y_labels[1:])
    }
    assert len(steps) == 1 and re.fullmatch(r"[125]0*", str(steps.pop() >> 20))
    assert axes.x_labels[0] == "0 ms" and all(label.endswith(" ms") for label in axes.x_labels)
    (circle,) = list(root.iter(f"{SVG}circle"))
    x, y = axes.pixel(analysed.peak_time_s, analysed.peak_bytes)
    assert (float(circle.get("cx")), float(circle.get("cy"))) == pytest.approx((x, y), abs=0.01)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "traced memory" in texts and "RSS" in texts
    assert any(t.startswith("peak 4") and " MiB traced at " in t for t in texts)


def test_png_shows_the_same_picture_in_pixels(capture: Path) -> None:
    root = ET.parse(draw(capture, "t.svg")).getroot()
    image = Image.open(io.BytesIO(draw(capture, "t.png").read_bytes())).convert("RGB")
    assert image.size == (_chart.WIDTH, _chart.HEIGHT)
    traced_colour = _rgb(_chart.TRACED_COLOUR)
    rss_colour = _rgb(_chart.RSS_COLOUR)
    (circle,) = list(root.iter(f"{SVG}circle"))
    peak = (float(circle.get("cx")), float(circle.get("cy")))
    assert image.getpixel(tuple(map(round, peak))) == _rgb(_chart.PEAK_COLOUR)
    for name, colour in (("traced", traced_colour), ("rss", rss_colour)):
        for x, y in polyline(root, name)[1:-1]:
            if abs(x - peak[0]) + abs(y - peak[1]) > 10:  # the peak's mark is drawn over it
                assert _near(image, x, y, colour), (name, x, y)
    # Far from every line, the picture is white.
    assert image.getpixel((_chart.LEFT + 3, _chart.TOP + 3)) == (255, 255, 255)


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def _near(image: Image.Image, x: float, y: float, colour: tuple[int, int, int]) -> bool:
    """The colour within a pixel of (x, y): lines are drawn two pixels wide."""
    cx, cy = round(x), round(y)
    return any(
        image.getpixel((cx + dx, cy + dy)) == colour for dx in (-1, 0, 1) for dy in (-1, 0, 1)
    )


def test_ticks_are_steps_of_one_two_or_five() -> None:
    assert [nice_step(span, 6) for span in (1, 7, 13, 45, 0.3)] == [0.2, 2, 5, 10, 0.05]
    assert [label for _, label in byte_ticks(45 << 20)] == [
        f"{v} MiB" for v in (0, 10, 20, 30, 40, 50)
    ]
    assert byte_ticks(3.5 * (1 << 30))[-1][1] == "4 GiB"
    assert [label for _, label in time_ticks(0.65)] == [f"{v} ms" for v in range(0, 801, 200)]
    assert time_ticks(95)[-1][1] == "100 s"
    assert time_ticks(600)[-1][1] == "10 min"


def test_bad_names_and_files_are_one_line(capture: Path, tmp_path: Path) -> None:
    for args, words in (
        ((str(capture), "-o", str(tmp_path / "t.jpg")), ("t.jpg", ".svg or .png")),
        ((str(capture), "-o", str(tmp_path / "no" / "dir" / "t.svg")), ("cannot write",)),
        ((str(tmp_path / "absent.bin"), "-o", str(tmp_path / "t.svg")), ("absent.bin",)),
    ):
        done = run_memhound("timeline", *args)
        assert done.returncode == 2
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr
        assert all(word in lines[0] for word in words), lines[0]
    corrupt = tmp_path / "corrupt.bin"
    data = bytearray(capture.read_bytes())
    data[100:180] = b"\x00" * 80
    corrupt.write_bytes(bytes(data))
    done = run_memhound("timeline", str(corrupt), "-o", str(tmp_path / "t.png"))
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert "offset" in done.stderr and not (tmp_path / "t.png").exists()
