"""Workload: numpy arrays made and dropped, large and small (native buffers behind Python objects).

Usage: python numpy_churn.py [SCALE]   (SCALE multiplies the amount of work; default 1.0)
"""

from __future__ import annotations

import sys

import numpy as np


def round_of_arrays(size: int) -> float:
    """A few temporaries per step, as array code makes them: products, sums, slices, a concat."""
    base = np.arange(size, dtype=np.float64)
    total = 0.0
    for step in range(20):
        scaled = base * (step + 1)
        shifted = scaled[1:] - scaled[:-1]
        total += float(np.concatenate([shifted, base[:10]]).sum())
        small = [np.full(8, step) for _ in range(20)]
        total += float(sum(block[0] for block in small))
    return total


def main(scale: float) -> None:
    rounds = max(1, int(60 * scale))
    total = 0.0
    for index in range(rounds):
        total += round_of_arrays(50_000 + 1000 * (index % 7))
    print(f"numpy_churn: {total:.1f}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0)
