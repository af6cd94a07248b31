"""Formatting of numbers, paths and source lines shared by the text renderers."""

from __future__ import annotations

import linecache
import os

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'; whole bytes below 1 KiB; three significant digits above."""
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            if unit == "B":
                return f"{round(value)} B"
            return f"{value:.1f} {unit}" if abs(value) < 100 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_power_of_two(n: int) -> str:
    """An exact power of two of bytes: 512 -> '512 B', 2048 -> '2 KiB'."""
    unit = 0
    while n >= 1024 and n % 1024 == 0 and unit < len(_UNITS) - 1:
        n //= 1024
        unit += 1
    return f"{n} {_UNITS[unit]}"


def format_count(n: float) -> str:
    return f"{round(n):,}"


def format_share(part: float, total: float) -> str:
    return f"{100.0 * part / total:.1f}%" if total > 0 else "-"


def short_path(path: str) -> str:
    """A path under the current directory is shown relative to it."""
    if not os.path.isabs(path):
        return path
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def source_line(path: str, line: int | None) -> str:
    """The stripped text of a source line, or '' when it cannot be read."""
    if not line:
        return ""
    return linecache.getline(path, line).strip()
