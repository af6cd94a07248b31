"""Reports over part of a run (--from / --until), over a capture still being written, and the
streamed reader's promises: figures of a window, one-line errors for bad bounds, no progress
line when stderr is not a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_contract import run_memhound

import memhound
from memhound import Window, read_capture

# Three phases, 0.3 s apart: a first list kept, a second list kept, then both dropped.
PHASES = textwrap.dedent(
    """\
    import json, sys, time
    import memhound._core as core

    def first():
        return [bytearray(1000) for _ in range(300)]

    def second():
        return [bytearray(3000) for _ in range(300)]

    core.start_tracing(sys.argv[1])
    marks = [core.current_seq()]
    a = first()
    time.sleep(0.3)
    marks.append(core.current_seq())
    b = second()
    time.sleep(0.3)
    marks.append(core.current_seq())
    del a, b
    core.stop_tracing()
    json.dump(marks, open(sys.argv[2], "w"))
    """
)
FIRST_LINE, SECOND_LINE = 5, 8


@pytest.fixture(scope="module")
def phases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[int]]:
    folder = tmp_path_factory.mktemp("phases")
    script, capture, marks = folder / "phases.py", folder / "phases.bin", folder / "marks.json"
    script.write_text(PHASES)
    subprocess.run([sys.executable, str(script), str(capture), str(marks)], check=True, timeout=120)
    return capture, json.loads(marks.read_text())


def top_line(capture, view: str = "peak") -> int:
    return capture.sites(view, "line", 1)[0]["frames"][0]["line"]


def test_a_window_by_sequence_sees_only_its_events(phases: tuple[Path, list[int]]) -> None:
    path, marks = phases
    whole = read_capture(path)
    first = read_capture(path, Window(from_seq=marks[0], until_seq=marks[1]))
    second = read_capture(path, Window(from_seq=marks[1], until_seq=marks[2]))
    assert first.window == (marks[0], marks[1])
    assert whole.window is None
    assert first.event_count + second.event_count <= whole.event_count
    assert first.file_event_count == whole.event_count
    assert top_line(first) == FIRST_LINE
    assert top_line(second) == SECOND_LINE
    # What a window keeps live at its end is what it allocated and did not free.
    assert first.live_bytes() >= 300 * 1000
    assert second.live_bytes() >= 300 * 3000
    assert first.live_bytes() < 300 * 3000


def test_reading_is_part_of_the_public_api() -> None:
    assert "read_capture" in memhound.__all__ and "Window" in memhound.__all__


def test_a_window_by_time_falls_on_the_samples(phases: tuple[Path, list[int]]) -> None:
    path, marks = phases
    late = read_capture(path, Window(from_time=0.15))  # after the first phase's allocations
    assert late.window[0] >= marks[0]
    assert late.event_count < read_capture(path).event_count
    assert top_line(late) == SECOND_LINE


def test_cli_window_is_named_in_text_and_json(phases: tuple[Path, list[int]]) -> None:
    path, marks = phases
    text = run_memhound("report", "--from", str(marks[1]), "--until", str(marks[2]), str(path))
    assert text.returncode == 0, text.stderr
    assert f"Window: events from {marks[1]:,} before event {marks[2]:,}" in text.stdout
    result = run_memhound("report", "--json", "--from", "0.15s", str(path))
    document = json.loads(result.stdout)
    assert document["capture"]["window"][0] >= marks[0]
    assert document["capture"]["window"][1] is None
    stats = run_memhound("stats", "--until", str(marks[1]), str(path))
    assert "window" in stats.stdout


@pytest.mark.parametrize("bound", ["2.5x", "1.5", "-3", "soon"])
def test_a_bad_bound_is_one_line_and_exit_2(phases: tuple[Path, list[int]], bound: str) -> None:
    result = run_memhound("report", "--from", bound, str(phases[0]))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--from" in result.stderr


def test_no_progress_line_when_stderr_is_not_a_terminal(phases: tuple[Path, list[int]]) -> None:
    result = run_memhound("stats", str(phases[0]))
    assert result.returncode == 0
    assert "memhound: read" not in result.stderr


RUNNING = textwrap.dedent(
    """\
    import sys, time
    import memhound._core as core

    core.start_tracing(sys.argv[1])
    kept = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        kept.append([str(i) for i in range(2000)])
        if len(kept) > 50:
            kept.pop(0)
    core.stop_tracing()
    """
)


def test_a_capture_still_being_written_reports_what_is_complete(tmp_path: Path) -> None:
    script, capture = tmp_path / "running.py", tmp_path / "running.bin"
    script.write_text(RUNNING)
    process = subprocess.Popen([sys.executable, str(script), str(capture)])
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (
            not capture.exists() or capture.stat().st_size < 200_000
        ):
            time.sleep(0.05)
        assert capture.stat().st_size >= 200_000
        result = run_memhound("report", "-n", "1", str(capture))
        assert process.poll() is None, "the program ended before the read"
    finally:
        process.kill()
        process.wait()
    assert result.returncode == 0, result.stderr
    assert "still writing it" in result.stderr
    assert "Memory live at the peak" in result.stdout
    assert "running.py:8" in result.stdout
