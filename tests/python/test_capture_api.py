"""The Capture object of memhound._core (via memhound._capture.read_capture) on real captures.

The programs are traced in subprocesses; these tests check the shapes and the figures that the
analysis derives from them (the recorder's own end-to-end tests live elsewhere).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from memhound._capture import read_capture

BIG = 8 * 1024 * 1024

# Line numbers below are those of the program text (the first line is line 1).
PROGRAM = textwrap.dedent(
    """\
    import json, sys, threading
    import memhound._core as core

    kept = []
    def grow():
        kept.append(bytearray(1000))

    def make_big():
        return bytearray(BIG)

    def worker():
        kept.append([0] * 5000)

    core.start_tracing(sys.argv[1], sample_bytes=int(sys.argv[3]), argv=["prog.py", "x"])
    checkpoints = [core.current_seq()]
    for _ in range(4):
        grow()
        checkpoints.append(core.current_seq())
    big = make_big()
    thread = threading.Thread(target=worker, name="worker")
    thread.start(); thread.join()
    core.stop_tracing()
    json.dump(checkpoints, open(sys.argv[2], "w"))
    """
).replace("BIG", str(BIG))
GROW_LINE = 6
BIG_LINE = 9


def trace(folder: Path, sample_bytes: int) -> tuple[Path, list[int]]:
    script, capture, checkpoints = (
        folder / "prog.py",
        folder / "prog.bin",
        folder / "checkpoints.json",
    )
    script.write_text(PROGRAM)
    command = [sys.executable, str(script), str(capture), str(checkpoints), str(sample_bytes)]
    subprocess.run(command, check=True, timeout=120)
    return capture, json.loads(checkpoints.read_text())


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    return trace(tmp_path_factory.mktemp("full"), 0)


def test_header_and_state(traced: tuple[Path, list[int]]) -> None:
    capture = read_capture(traced[0])
    assert capture.complete is True
    assert capture.truncated_at is None
    assert capture.event_count > 0
    header = capture.header
    assert header["mode"] == "full"
    assert header["argv"] == ["prog.py", "x"]
    assert header["python_version"] == platform.python_version()
    assert header["version"] == 4
    assert header["native"] is False
    assert {thread["name"] for thread in capture.threads} >= {"worker"}


def test_big_allocation_is_the_top_leak_at_its_line(traced: tuple[Path, list[int]]) -> None:
    capture = read_capture(traced[0])
    top = capture.sites("leaks", "line", 1)[0]
    assert top["bytes"] >= BIG
    assert top["count"] >= 1
    innermost = top["frames"][0]
    assert (innermost["function"], innermost["line"]) == ("make_big", BIG_LINE)
    assert innermost["file"].endswith("prog.py")
    assert capture.stack_frames(top["stack"]) == top["frames"]
    assert capture.sites("peak", "function", 1)[0]["frames"][0]["function"] == "make_big"


def test_groupings_and_limits(traced: tuple[Path, list[int]]) -> None:
    capture = read_capture(traced[0])
    by_line = capture.sites("leaks", "line", 0)
    assert len(capture.sites("leaks", "line", 2)) == 2
    assert [row["bytes"] for row in by_line] == sorted(
        (row["bytes"] for row in by_line), reverse=True
    )
    by_stack = capture.sites("leaks", "stack", 0)
    assert sum(row["bytes"] for row in by_stack) == sum(row["bytes"] for row in by_line)
    assert capture.live_bytes() == sum(row["bytes"] for row in by_line)
    summary = capture.site_summary("leaks", "line", 2)
    assert summary["sites"] == by_line[:2]
    assert summary["site_count"] == len(by_line)
    assert summary["total_bytes"] == capture.live_bytes()
    assert summary["total_count"] == sum(row["count"] for row in by_line)
    with pytest.raises(ValueError, match="unknown view"):
        capture.sites("biggest", "line", 1)
    with pytest.raises(ValueError, match="unknown grouping"):
        capture.sites("peak", "file", 1)


def test_live_allocations_match_live_bytes(traced: tuple[Path, list[int]]) -> None:
    capture = read_capture(traced[0])
    live = capture.live_allocations()
    assert sum(size for _address, size, _seq, _stack in live) == capture.live_bytes()
    seqs = [seq for _address, _size, seq, _stack in live]
    assert seqs == sorted(seqs)
    assert any(size == BIG or size >= BIG for _address, size, _seq, _stack in live)


def test_site_growth_sees_one_more_allocation_per_iteration(traced: tuple[Path, list[int]]) -> None:
    path, checkpoints = traced
    capture = read_capture(path)
    growth = capture.site_growth(checkpoints)
    grow_rows = [
        row for row in growth if capture.stack_frames(row["stack"])[0]["line"] == GROW_LINE
    ]
    counts = [sum(column) for column in zip(*(row["counts"] for row in grow_rows))]
    assert counts[0] == 0
    assert counts == sorted(counts) and counts[-1] >= 4  # at least the 4 bytearrays kept
    assert all(len(row["bytes"]) == len(checkpoints) for row in growth)


def test_stats_and_timeline(traced: tuple[Path, list[int]]) -> None:
    capture = read_capture(traced[0])
    stats = capture.stats()
    assert stats["events"] == capture.event_count
    assert stats["recorded_allocations"] + stats["recorded_frees"] == capture.event_count
    assert stats["peak_bytes"] >= BIG
    assert stats["live_bytes"] == capture.live_bytes()
    assert stats["duration_s"] is not None and stats["duration_s"] > 0
    assert sum(bucket["count"] for bucket in stats["size_histogram"]) == stats["allocations"]
    assert stats["top_sites"][0]["count"] >= stats["top_sites"][-1]["count"]
    points = capture.timeline()
    for point in points:
        assert set(point) == {"time_s", "seq", "rss_bytes", "traced_bytes"}
        assert point["rss_bytes"] > 0
    assert [p["seq"] for p in points] == sorted(p["seq"] for p in points)


def test_sampled_capture_estimates_the_big_allocation(tmp_path: Path) -> None:
    path, _ = trace(tmp_path, 64 * 1024)
    capture = read_capture(path)
    assert capture.header["mode"] == "sampled"
    assert capture.header["sample_bytes"] == 64 * 1024
    top = capture.sites("leaks", "line", 1)[0]
    assert top["frames"][0]["line"] == BIG_LINE
    assert BIG <= top["bytes"] <= BIG * 1.01  # 8 MiB >> 64 KiB: recorded with weight ~1
