"""Workload: many small class instances created and dropped (the common OO allocation pattern).

Usage: python object_churn.py [SCALE]   (SCALE multiplies the amount of work; default 1.0)
"""

from __future__ import annotations

import sys


class Point:
    def __init__(self, x: float, y: float) -> None:
        self.x = x
        self.y = y

    def shifted(self, dx: float) -> Point:
        return Point(self.x + dx, self.y)


class Segment:
    __slots__ = ("end", "start", "tags")

    def __init__(self, start: Point, end: Point) -> None:
        self.start = start
        self.end = end
        self.tags = [start.x, end.y]


def churn_batch(size: int) -> float:
    """Builds a short-lived batch of segments and reduces it to one number."""
    segments = [
        Segment(Point(i, i * 0.5), Point(i + 1.0, i * 0.25).shifted(0.5)) for i in range(size)
    ]
    return sum(seg.end.x - seg.start.x for seg in segments)


def main(scale: float) -> None:
    rounds = max(1, int(250 * scale))
    total = 0.0
    for _ in range(rounds):
        total += churn_batch(1000)
    print(f"object_churn: {total:.1f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
