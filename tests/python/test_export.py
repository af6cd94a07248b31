"""`memhound export`: pprof, speedscope and collapsed stacks of real captures, checked against
profile.proto (parsed with the protobuf package), against a JSON schema of speedscope's format,
and against `memhound report`'s totals."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import jsonschema
import pytest
from cli_contract import line_of, run_memhound, write_program
from pprof_schema import profile_class
from speedscope_schema import SPEEDSCOPE_SCHEMA

Profile = profile_class()

PROGRAM = """\
import threading

kept = []

def make_rows(n):
    return [bytearray(1000) for _ in range(n)]  # ROWS

def churn():
    for _ in range(2000):
        scratch = bytes(100)  # CHURN
        del scratch

def worker(n):
    kept.append([bytearray(500) for _ in range(n)])  # WORKER

def main():
    rows = make_rows(3000)
    kept.append(make_rows(500))
    churn()
    threads = [threading.Thread(target=worker, args=(400,), name=f"w{i}") for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    del rows

main()  # MAIN
"""

SAMPLED = """\
kept = []

def fill():
    for _ in range(40_000):
        kept.append(bytearray(1000))  # FILL

fill()
"""


def record(folder: Path, source: str, *options: str) -> tuple[Path, Path]:
    script = write_program(folder, source)
    capture = folder / "capture.bin"
    done = run_memhound("run", *options, "-o", str(capture), str(script), cwd=folder)
    assert done.returncode == 0, done.stderr
    return script, capture


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return record(tmp_path_factory.mktemp("export"), PROGRAM)


@pytest.fixture(scope="module")
def sampled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return record(tmp_path_factory.mktemp("sampled"), SAMPLED, "--sample-bytes", "65536")


def export(capture: Path, fmt: str, *view: str) -> Path:
    out = capture.with_name(f"{fmt}{''.join(view).replace('-', '_')}.out")
    done = run_memhound("export", str(capture), "--format", fmt, "-o", str(out), *view)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return out


def report_total(capture: Path, view: str) -> int:
    done = run_memhound("report", str(capture), f"--{view}", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["total_bytes"]


def parse_pprof(path: Path):
    raw = gzip.decompress(path.read_bytes())
    profile = Profile()
    profile.ParseFromString(raw)
    # Serialising again gives the same bytes: no unknown field, no non-canonical encoding.
    assert profile.SerializeToString() == raw
    return profile


def pprof_types(profile) -> list[str]:
    return [profile.string_table[t.type] for t in profile.sample_type]


def pprof_total(profile, sample_type: str) -> int:
    column = pprof_types(profile).index(sample_type)
    return sum(sample.value[column] for sample in profile.sample)


def read_collapsed(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        path_text, weight = line.rsplit(" ", 1)
        stacks.append((path_text.split(";"), int(weight)))
    return stacks


# pprof


def test_pprof_is_a_valid_profile_with_go_heap_sample_types(traced: tuple[Path, Path]) -> None:
    _, capture = traced
    profile = parse_pprof(export(capture, "pprof"))
    strings = profile.string_table
    assert strings[0] == ""
    assert pprof_types(profile) == ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]
    assert [strings[t.unit] for t in profile.sample_type] == ["count", "bytes"] * 2
    assert strings[profile.default_sample_type] == "inuse_space"
    assert (strings[profile.period_type.type], strings[profile.period_type.unit]) == (
        "space",
        "bytes",
    )
    locations = {location.id: location for location in profile.location}
    functions = {function.id: function for function in profile.function}
    mappings = {mapping.id for mapping in profile.mapping}
    assert len(locations) == len(profile.location) and 0 not in locations
    for sample in profile.sample:
        assert len(sample.value) == 4 and sample.location_id
        assert all(location_id in locations for location_id in sample.location_id)
    for location in profile.location:
        assert location.mapping_id in mappings
        assert [line.function_id in functions for line in location.line] == [True]
    header = run_memhound("stats", str(capture), "--json")
    stats = json.loads(header.stdout)
    assert profile.time_nanos == stats["capture"]["header"]["start_time_ns"]
    assert profile.duration_nanos == pytest.approx(stats["duration_s"] * 1e9, abs=1e3)


def test_pprof_totals_match_the_reports(traced: tuple[Path, Path]) -> None:
    _, capture = traced
    peak = parse_pprof(export(capture, "pprof"))
    assert pprof_total(peak, "inuse_space") == report_total(capture, "peak")
    leaks = parse_pprof(export(capture, "pprof", "--leaks"))
    assert pprof_total(leaks, "inuse_space") == report_total(capture, "leaks")
    stats = json.loads(run_memhound("stats", str(capture), "--json").stdout)
    assert pprof_total(peak, "alloc_space") == pytest.approx(stats["allocated_bytes"], abs=64)
    temporary = parse_pprof(export(capture, "pprof", "--temporary"))
    assert pprof_types(temporary) == ["alloc_objects", "alloc_space"]
    assert pprof_total(temporary, "alloc_space") == report_total(capture, "temporary")


def test_pprof_functions_have_files_start_lines_and_locations_lines(
    traced: tuple[Path, Path],
) -> None:
    script, capture = traced
    profile = parse_pprof(export(capture, "pprof"))
    strings = profile.string_table
    functions = {function.id: function for function in profile.function}
    by_name = {strings[function.name]: function for function in profile.function}
    make_rows = by_name["make_rows"]
    assert strings[make_rows.filename] == str(script)
    assert make_rows.start_line == line_of(script, "def make_rows")
    rows_line = line_of(script, "# ROWS")
    listcomp = [
        location
        for location in profile.location
        if location.line[0].line == rows_line
        and strings[functions[location.line[0].function_id].filename] == str(script)
    ]
    assert listcomp
    # The rows held at the peak: 3,500 bytearrays of 1000 bytes from that line, at least.
    column = pprof_types(profile).index("inuse_space")
    ids = {location.id for location in listcomp}
    held = sum(s.value[column] for s in profile.sample if s.location_id[0] in ids)
    assert held >= 3500 * 1000


def test_pprof_of_a_sampled_capture_carries_the_estimates_and_the_period(
    sampled: tuple[Path, Path],
) -> None:
    _, capture = sampled
    profile = parse_pprof(export(capture, "pprof"))
    assert profile.period == 65536
    assert pprof_total(profile, "inuse_space") == pytest.approx(
        report_total(capture, "peak"), rel=1e-3
    )
    # 40,000 bytearrays of about 1 KiB each were kept: the estimate is within 15% of that.
    strings = profile.string_table
    functions = {function.id: strings[function.name] for function in profile.function}
    locations = {loc.id: functions[loc.line[0].function_id] for loc in profile.location}
    column = pprof_types(profile).index("inuse_space")
    fill = sum(
        s.value[column]
        for s in profile.sample
        if any(locations[i] == "fill" for i in s.location_id)
    )
    assert fill == pytest.approx(40_000 * 1057, rel=0.15)


# speedscope


def test_speedscope_matches_its_schema_and_the_report(traced: tuple[Path, Path]) -> None:
    _, capture = traced
    document = json.loads(export(capture, "speedscope").read_text())
    jsonschema.validate(document, SPEEDSCOPE_SCHEMA)
    frames = document["shared"]["frames"]
    by_bytes, by_count = document["profiles"]
    assert (by_bytes["unit"], by_count["unit"]) == ("bytes", "none")
    for profile in (by_bytes, by_count):
        assert len(profile["samples"]) == len(profile["weights"])
        assert profile["endValue"] == sum(profile["weights"])
        assert all(0 <= i < len(frames) for stack in profile["samples"] for i in stack)
    assert sum(by_bytes["weights"]) == report_total(capture, "peak")
    peak = json.loads(run_memhound("report", str(capture), "--json").stdout)
    assert sum(by_count["weights"]) == peak["total_count"]


def test_speedscope_stacks_are_outermost_first(traced: tuple[Path, Path]) -> None:
    script, capture = traced
    document = json.loads(export(capture, "speedscope").read_text())
    frames = document["shared"]["frames"]
    heaviest = document["profiles"][0]["samples"][0]
    names = [frames[i]["name"] for i in heaviest]
    rows_line = line_of(script, "# ROWS")
    assert names[0] == f"<module> (program.py:{line_of(script, '# MAIN')})"
    assert f"make_rows (program.py:{rows_line})" in names
    assert frames[heaviest[-1]]["line"] == rows_line
    assert frames[heaviest[-1]]["file"] == str(script)


# collapsed


def test_collapsed_totals_match_the_report_in_every_view(traced: tuple[Path, Path]) -> None:
    _, capture = traced
    for view in ("peak", "leaks", "temporary"):
        stacks = read_collapsed(export(capture, "collapsed", f"--{view}"))
        assert sum(weight for _, weight in stacks) == report_total(capture, view)
        assert all(weight > 0 and all(frames) for frames, weight in stacks)


def test_collapsed_is_peak_by_default_outermost_first(traced: tuple[Path, Path]) -> None:
    script, capture = traced
    default = export(capture, "collapsed").read_text()
    assert default == export(capture, "collapsed", "--peak").read_text()
    stacks = read_collapsed(capture.with_name("collapsed.out"))
    churn = [frames for frames, _ in read_collapsed(export(capture, "collapsed", "--temporary"))]
    assert [f"churn (program.py:{line_of(script, '# CHURN')})"] in [f[-1:] for f in churn]
    assert stacks[0][0][0].startswith("<module> (program.py:")


def test_threads_stacks_start_at_the_thread_bootstrap(traced: tuple[Path, Path]) -> None:
    script, capture = traced
    worker = f"worker (program.py:{line_of(script, '# WORKER')})"
    stacks = read_collapsed(export(capture, "collapsed", "--leaks"))
    threaded = [(frames, weight) for frames, weight in stacks if worker in frames]
    assert threaded
    assert all(frames[0].startswith("Thread._bootstrap (threading.py:") for frames, _ in threaded)
    # Three threads each kept 400 bytearrays of 500 bytes (and their lists).
    assert sum(weight for _, weight in threaded) >= 3 * 400 * 500


# bad input


def one_error_line(done, *words: str) -> None:
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("memhound"), done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0]


def test_a_corrupt_capture_is_one_line_with_the_offset(tmp_path: Path, traced) -> None:
    _, capture = traced
    broken = tmp_path / "broken.bin"
    data = bytearray(capture.read_bytes())
    data[200:260] = b"\xff" * 60
    broken.write_bytes(bytes(data))
    done = run_memhound("export", str(broken), "--format", "pprof", "-o", str(tmp_path / "x"))
    one_error_line(done, "broken.bin", "offset")
    assert not (tmp_path / "x").exists()


def test_an_unwritable_output_and_an_unknown_format_are_one_line(tmp_path: Path, traced) -> None:
    _, capture = traced
    missing = tmp_path / "no" / "such" / "dir" / "out.pb.gz"
    done = run_memhound("export", str(capture), "--format", "pprof", "-o", str(missing))
    one_error_line(done, "cannot write", "out.pb.gz")
    done = run_memhound("export", str(capture), "--format", "perfetto", "-o", str(tmp_path / "x"))
    one_error_line(done, "perfetto")
    done = run_memhound("export", str(tmp_path / "absent.bin"), "--format", "pprof", "-o", "x")
    one_error_line(done, "absent.bin")
