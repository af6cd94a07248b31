"""Bad capture files through the CLI: one line on stderr, exit code 2, never a traceback.

A truncated capture is not an error: it is reported with a one-line warning.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_contract import run_memhound

from memhound._capture import read_capture
from memhound._errors import CaptureError

# Traces a small program so that the capture holds real batches, definitions and samples.
TRACED_PROGRAM = textwrap.dedent(
    """
    import sys
    import memhound._core as core

    def allocate_rows(n):
        return [str(i) * 20 for i in range(n)]

    core.start_tracing(sys.argv[1])
    kept = [allocate_rows(2000) for _ in range(5)]
    core.stop_tracing()
    """
)


@pytest.fixture(scope="module")
def capture_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("captures")
    path = folder / "good.bin"
    script = folder / "program.py"
    script.write_text(TRACED_PROGRAM)
    subprocess.run([sys.executable, str(script), str(path)], check=True, timeout=120)
    return path


def assert_one_line_error(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("memhound: error: ")
    for part in parts:
        assert part in lines[0]
    assert result.stdout == ""


def write_variant(tmp_path: Path, source: Path, edit) -> Path:
    data = bytearray(source.read_bytes())
    edit(data)
    path = tmp_path / "variant.bin"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("command", ["report", "stats", "flamegraph"])
def test_missing_file(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.bin"
    assert_one_line_error(run_memhound(command, str(missing)), str(missing), "No such file")


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    assert_one_line_error(run_memhound("report", str(tmp_path)), str(tmp_path))


def test_file_of_another_kind(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text("print('hello')\n")
    assert_one_line_error(run_memhound("report", str(script)), "not a memhound capture", "offset 0")


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert_one_line_error(run_memhound("stats", str(empty)), "empty file")


def test_newer_format_version(capture_path: Path, tmp_path: Path) -> None:
    def bump_version(data: bytearray) -> None:
        data[8:12] = (99).to_bytes(4, "little")

    newer = write_variant(tmp_path, capture_path, bump_version)
    assert_one_line_error(run_memhound("report", str(newer)), "version 99 is newer", "offset 8")


@pytest.mark.parametrize("command", ["report", "stats", "flamegraph"])
def test_corrupt_frame_names_its_offset(command: str, capture_path: Path, tmp_path: Path) -> None:
    middle = capture_path.stat().st_size // 2

    def flip(data: bytearray) -> None:
        data[middle] ^= 0xFF

    corrupt = write_variant(tmp_path, capture_path, flip)
    result = run_memhound(command, str(corrupt))
    assert_one_line_error(result, str(corrupt), "at offset ")
    offset = int(result.stderr.rsplit("at offset ", 1)[1])
    assert 0 < offset <= middle


@pytest.mark.parametrize("command", ["report", "stats"])
def test_truncated_capture_is_reported_with_one_warning(
    command: str, capture_path: Path, tmp_path: Path
) -> None:
    size = capture_path.stat().st_size
    cut = write_variant(
        tmp_path, capture_path, lambda data: data.__delitem__(slice(size - size // 3, None))
    )
    result = run_memhound(command, str(cut))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    warnings = result.stderr.strip().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith("memhound: warning: ")
    assert "without its trailer" in warnings[0]
    assert result.stdout


def test_good_capture_reports_the_allocating_function(capture_path: Path) -> None:
    result = run_memhound("report", str(capture_path), "--leaks", "-n", "3", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document["capture"]["complete"] is True
    functions = {frame["function"] for site in document["sites"] for frame in site["frames"]}
    assert "allocate_rows" in functions


def test_bad_option_value_is_one_line() -> None:
    result = run_memhound("report", "x.bin", "-n", "-3")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_read_capture_raises_capture_error_with_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"MEMHOUND" + bytes(40))
    with pytest.raises(CaptureError) as caught:
        read_capture(junk)
    assert "\n" not in str(caught.value)
    assert str(junk) in str(caught.value)
