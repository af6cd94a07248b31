"""Readable axis ticks: steps of 1, 2 or 5 times a power of ten, in a unit chosen for the range
(ms, s or min for time; B, KiB, MiB or GiB for memory)."""

from __future__ import annotations

import math

_BYTE_UNITS = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1))


def nice_step(span: float, most: int) -> float:
    """The smallest step of 1, 2 or 5 x 10^k that cuts `span` into at most `most` parts."""
    if span <= 0:
        return 1.0
    raw = span / most
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    raise AssertionError("unreachable")


def ticks(top: float, unit_name: str, unit: float, most: int = 6) -> list[tuple[float, str]]:
    """(value, label) from 0 to at least `top` (in base units), labelled in `unit_name`."""
    step = nice_step(top / unit, most)
    count = max(1, math.ceil(top / unit / step - 1e-9))
    return [(i * step * unit, f"{_number(i * step)} {unit_name}") for i in range(count + 1)]


def time_ticks(top_seconds: float) -> list[tuple[float, str]]:
    if top_seconds < 1:
        return ticks(top_seconds, "ms", 1e-3)
    if top_seconds < 180:
        return ticks(top_seconds, "s", 1.0)
    return ticks(top_seconds, "min", 60.0)


def format_seconds(seconds: float) -> str:
    """A moment in the unit its axis would use: '140 ms', '2.35 s', '3.2 min'."""
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 180:
        return f"{seconds:.3g} s"
    return f"{seconds / 60:.3g} min"


def byte_ticks(top_bytes: float) -> list[tuple[float, str]]:
    name, unit = next(
        (name, unit) for name, unit in _BYTE_UNITS if top_bytes >= 2 * unit or unit == 1
    )
    return ticks(top_bytes, name, unit)


def _number(value: float) -> str:
    """12.0 -> '12', 0.25 -> '0.25': no float noise, no trailing zeros."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"
