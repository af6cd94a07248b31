"""Counts the events in a capture file, with the tool's own reader; prints one integer.

Usage: python _count_events.py (memhound | memray) PATH
Run in a subprocess by the benchmark runner so that a large capture's memory is given back and a
reader crash cannot take the runner down.
memhound: allocation + free events (memhound._core.read_capture(path).event_count).
memray: allocation records, frees included (FileReader(path).metadata.total_allocations).
"""

from __future__ import annotations

import sys


def memhound_events(path: str) -> int:
    from memhound import _core  # type: ignore[attr-defined]

    return int(_core.read_capture(path).event_count)


def memray_records(path: str) -> int:
    import memray

    return int(memray.FileReader(path).metadata.total_allocations)


COUNTERS = {"memhound": memhound_events, "memray": memray_records}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in COUNTERS:
        print(f"usage: _count_events.py ({' | '.join(COUNTERS)}) PATH", file=sys.stderr)
        return 2
    print(COUNTERS[argv[0]](argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
