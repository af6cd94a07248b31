"""The benchmark runner: its arithmetic and verdicts on fabricated results, then a real quick run
whose markdown is parsed back (sections, machine facts, timings, ratios, geomeans, verdicts)."""

from __future__ import annotations

import json
import math
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

from _asizeof_section import asizeof_bar, asizeof_table
from _class_tracker_section import class_tracker_bar, class_tracker_table
from _heap_section import rows_table
from _leaks_section import LeakRun, leak_check_bar
from _machine import cpu_model
from _markdown import Verdict, table, verdict_of
from _proc import JsonRun, run_json
from _stats import geomean, median
from _summary_section import summary_bar, summary_table
from _tools import TOOL_NAMES, Tool, build_tools
from _tracing import LIGHT_FACTOR, Cell, TracingResults, _cheapest_first, _light_tools
from _tracing_report import cpu_table, overhead_table, tracing_bars

VERDICTS = {"met", "not met", "not measured"}
SECTION_TITLES = (
    "## Machine",
    "## Method",
    "## Bars (DESIGN.md, Performance bars)",
    "## Tracing overhead",
    "## Capture size",
    "## Heap snapshot",
    "## asizeof",
    "## Object summary",
    "## ClassTracker",
    "## Leak check",
)


# ---- arithmetic and rendering on fabricated data -------------------------------------------


def test_median_and_geomean() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert geomean([2.0, 8.0]) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        geomean([])
    with pytest.raises(ValueError):
        geomean([1.0, 0.0])


def test_verdicts_follow_the_direction_of_the_bar() -> None:
    assert verdict_of(1.4, 1.5) is Verdict.MET
    assert verdict_of(1.6, 1.5) is Verdict.NOT_MET
    assert verdict_of(31.0, 30.0, lower_is_better=False) is Verdict.MET
    assert verdict_of(29.0, 30.0, lower_is_better=False) is Verdict.NOT_MET
    assert verdict_of(None, 1.5) is Verdict.NOT_MEASURED


def test_table_escapes_pipes_and_rejects_ragged_rows() -> None:
    text = table(["a", "b"], [["x|y", "2"]])
    assert text.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | 2 |"]
    with pytest.raises(ValueError):
        table(["a", "b"], [["only one"]])


def _fabricated(
    seconds: dict[str, list[float]],
    failure: dict[str, str] | None = None,
    capture: tuple[int, int] | None = None,
) -> TracingResults:
    tools = [
        Tool(name, (), capture_format="memhound" if name.startswith("memhound") else None)
        for name in seconds
    ]
    plain = seconds.get("plain", [])
    cells = {
        ("w1", name): Cell(
            seconds=list(values),
            cpu_seconds=[v / 2 for v in values],
            plain_seconds=plain[: len(values)],
            plain_cpu_seconds=[v / 2 for v in plain[: len(values)]],
        )
        for name, values in seconds.items()
    }
    for name, reason in (failure or {}).items():
        cells[("w1", name)].failure = reason
    if capture is not None:
        cells[("w1", "memhound-full")].capture_bytes, cells[("w1", "memhound-full")].events = (
            capture
        )
    return TracingResults(["w1"], tools, repeat=3, scale=1.0, cells=cells)


def test_ratios_use_medians_and_bars_judge_them() -> None:
    results = _fabricated(
        {
            "plain": [1.0, 9.0, 1.2],  # median 1.2, the outlier is ignored
            "memhound-full": [1.5, 1.8, 1.6],  # median 1.6 -> 1.33x: meets <= 1.5x
            "memhound-sampled": [1.3, 1.3, 1.3],  # 1.08x: misses <= 1.05x
        },
        capture=(3_000, 1_000),
    )  # 3 bytes per event: misses <= 2
    assert results.ratio("w1", "memhound-full") == pytest.approx(1.6 / 1.2)
    full, sampled, native, capture = tracing_bars(results)
    assert (full.verdict, sampled.verdict, capture.verdict) == (
        Verdict.MET,
        Verdict.NOT_MET,
        Verdict.NOT_MET,
    )
    assert native.verdict == Verdict.NOT_MEASURED and "not selected" in native.measured
    assert "1.33x" in full.measured and "3.00 B/event" in capture.measured
    assert "| 1.60 s (1.33x, ±9%) |" in overhead_table(results)  # spread: 0.3 / (2 * 1.6)
    assert cpu_table(results).splitlines()[2] == "| w1 | 1.00x | 1.33x | 1.08x |"
    assert full.measured == "1.33x (CPU time: 1.33x)"


def test_ratios_pair_each_round_with_the_plain_run_of_that_round() -> None:
    # the second round ran on a slow machine for both tools: paired, it cancels out
    results = _fabricated({"plain": [1.0, 2.0, 3.0], "memhound-full": [3.0, 2.4, 3.6]})
    assert results.ratio("w1", "memhound-full") == pytest.approx(1.2)  # not 3.0 / 2.0


def test_runs_pair_with_the_plain_run_of_their_pass_not_with_an_index() -> None:
    # memhound-full ran in three passes; memray only in the first, whose plain run took 1.0 s
    results = _fabricated({"plain": [1.0, 2.0, 3.0], "memhound-full": [1.2, 2.4, 3.6]})
    memray = Cell(seconds=[5.0], cpu_seconds=[2.5], plain_seconds=[1.0], plain_cpu_seconds=[0.5])
    results.tools.append(Tool("memray", ()))
    results.cells[("w1", "memray")] = memray
    assert results.ratio("w1", "memray") == pytest.approx(5.0)
    assert results.ratio("w1", "memhound-full") == pytest.approx(1.2)
    memray.plain_seconds = [0.0]  # plain python failed in that pass: no ratio
    assert results.ratio("w1", "memray") is None


def test_light_tools_are_those_within_the_factor_of_plain_cheapest_first() -> None:
    results = _fabricated(
        {"plain": [1.0], "memhound-full": [1.4], "memhound-sampled": [1.1], "heavy": [9.0]}
    )
    light = [tool.name for tool in _light_tools(results, "w1", results.tools)]
    assert light == ["memhound-sampled", "memhound-full"]
    assert LIGHT_FACTOR * 1.0 < 9.0


def test_each_round_runs_plain_first_then_the_cheapest_tools() -> None:
    results = _fabricated({"plain": [1.0], "memhound-full": [5.0], "memhound-sampled": [2.0]})
    order = [tool.name for tool in _cheapest_first(results, "w1", results.tools)]
    assert order[:3] == ["plain", "memhound-sampled", "memhound-full"]


def test_a_failed_tool_is_reported_not_measured() -> None:
    results = _fabricated(
        {"plain": [1.0], "memhound-full": [], "memhound-sampled": []},
        failure={"memhound-full": "not installed", "memhound-sampled": "failed (exit 1): boom"},
    )
    full, sampled, native, capture = tracing_bars(results)
    assert {full.verdict, sampled.verdict, native.verdict, capture.verdict} == {
        Verdict.NOT_MEASURED
    }
    assert "not installed" in full.measured
    row = overhead_table(results).splitlines()[2]
    assert row == "| w1 | 1.00 s (1.00x) | not installed | failed |"


def test_heap_rows_get_one_column_per_key_in_first_seen_order() -> None:
    text = rows_table([{"what": "snapshot", "seconds": 0.123456}, {"what": "explain", "ms": 4}])
    assert text.splitlines()[0] == "| what | seconds | ms |"
    assert text.splitlines()[2] == "| snapshot | 0.123 | - |"
    assert text.splitlines()[3] == "| explain | - | 4 |"


def test_every_tool_is_built_in_report_order() -> None:
    tools = build_tools(sys.executable)
    assert tuple(tool.name for tool in tools) == TOOL_NAMES
    for tool in tools:
        command = tool.command(Path("w.py"), ["0.5"], Path("out.bin"))
        assert command[0] == sys.executable and command[-2:] == ["w.py", "0.5"]
        assert ("out.bin" in command) == (tool.capture_format is not None)


def test_asizeof_bar_is_the_speed_up_over_pympler_at_the_same_total() -> None:
    def verdict(memhound: dict) -> Verdict:
        pympler = {"seconds": 1.2, "bytes": 1000}
        tools = {"pympler.asizeof": pympler, "memhound.asizeof": memhound}
        return asizeof_bar({"objects": 10, "tools": tools}).verdict

    assert verdict({"seconds": 0.03, "bytes": 1000}) is Verdict.MET  # 40x
    assert verdict({"seconds": 0.06, "bytes": 1000}) is Verdict.NOT_MET  # 20x
    assert verdict({"seconds": 0.03, "bytes": 1040}) is Verdict.MET  # 4% more
    assert verdict({"seconds": 0.03, "bytes": 900}) is Verdict.NOT_MET  # 10% less
    assert verdict({"error": "not implemented yet"}) is Verdict.NOT_MEASURED


def _class_tracker_data(tracked_ratios: list[float], pympler_seconds: float | None) -> dict:
    tools = {
        "plain": {"seconds": 1.0, "runs": [1.0], "iterations": 1000},
        "memhound.ClassTracker": {
            "seconds": 1.1,
            "runs": [1.1],
            "iterations": 1000,
            "ratios": tracked_ratios,
        },
        "pympler.classtracker": (
            {"seconds": pympler_seconds, "runs": [pympler_seconds], "iterations": 100}
            if pympler_seconds is not None
            else {"error": "not installed"}
        ),
    }
    return {"iterations": 1000, "rounds": 3, "python": "3.11.7", "exact": True, "tools": tools}


def test_class_tracker_bar_is_the_median_per_round_ratio() -> None:
    met = class_tracker_bar(_class_tracker_data([1.1, 1.3, 1.15], 2.0))
    assert met.verdict is Verdict.MET
    assert met.measured == "1.15x (pympler 20.00x)"  # 2.0 s / 100 against 1.0 s / 1000
    assert class_tracker_bar(_class_tracker_data([1.3, 1.25, 1.1], None)).verdict is Verdict.NOT_MET
    missing = _class_tracker_data([1.0], None)
    missing["tools"]["memhound.ClassTracker"] = {"error": "failed: boom"}
    assert class_tracker_bar(missing).verdict is Verdict.NOT_MEASURED
    rows = class_tracker_table(_class_tracker_data([1.1, 1.2, 1.15], None)).splitlines()
    assert rows[2] == "| plain | 1,000 | 1.00 s | 1000000 | 1.00x |"
    assert rows[-1] == "| pympler.classtracker | not installed | - | - | - |"


def test_class_tracker_worker_runs_each_mode(tmp_path: Path) -> None:
    for mode in ("plain", "memhound", "pympler"):
        output = tmp_path / f"{mode}.json"
        worker = str(BENCH_DIR / "_class_tracker.py")
        subprocess.run([sys.executable, worker, mode, "2000", str(output)], check=True, timeout=120)
        data = json.loads(output.read_text())
        assert data["mode"] == mode and data["iterations"] == 2000
        assert data["seconds"] > 0
        if mode == "memhound":
            assert data["exact"] is True


def test_asizeof_worker_reports_a_missing_pympler(tmp_path: Path) -> None:
    # The worker runs with pympler unimportable, whatever this machine has installed.
    output = tmp_path / "asizeof.json"
    blocked = (
        "import runpy, sys; sys.modules['pympler'] = None; "
        f"sys.argv = [{str(BENCH_DIR / '_asizeof.py')!r}, '50', {str(output)!r}]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(output.read_text(encoding="utf-8"))
    assert data["tools"]["pympler.asizeof"] == {"error": "not installed"}
    assert asizeof_bar(data).verdict is Verdict.NOT_MEASURED
    assert "| pympler.asizeof | not installed | - |" in asizeof_table(data)


def test_summary_bar_is_the_time_of_memhound_summary() -> None:
    def verdict(memhound: dict) -> Verdict:
        return summary_bar({"tools": {"memhound.summary()": memhound}}).verdict

    assert verdict({"seconds": 0.12, "runs": 3, "objects": 1_600_000}) is Verdict.MET
    assert verdict({"seconds": 0.31, "runs": 3, "objects": 1_600_000}) is Verdict.NOT_MET
    assert verdict({"error": "failed: boom"}) is Verdict.NOT_MEASURED


def test_summary_worker_times_every_tool_on_one_heap(tmp_path: Path) -> None:
    # objgraph unimportable, whatever this machine has installed: its row says so
    output = tmp_path / "summary.json"
    blocked = (
        "import runpy, sys; sys.modules['objgraph'] = None; "
        f"sys.argv = [{str(BENCH_DIR / '_summary.py')!r}, '500', {str(output)!r}]; "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(output.read_text(encoding="utf-8"))
    memhound = data["tools"]["memhound.summary()"]
    assert memhound["runs"] == 3 and memhound["seconds"] > 0
    assert memhound["objects"] == data["objects"] > 500 * 7  # each item: itself and 6 objects
    pympler = data["tools"]["pympler summarize(muppy.get_objects())"]
    assert pympler["runs"] == 1 and pympler["objects"] > 500 * 5
    assert data["tools"]["objgraph.show_most_common_types()"] == {"error": "not installed"}
    rows = summary_table(data)
    assert "| objgraph.show_most_common_types() | not installed | - | - | - |" in rows
    assert summary_bar(data).verdict is Verdict.MET


def test_run_json_reads_the_result_or_says_why_not() -> None:
    def python(code: str) -> list[str]:
        return [sys.executable, "-c", code]

    written = run_json(python("import sys, json; json.dump({'n': 3}, open(sys.argv[1], 'w'))"), 60)
    assert (written.data, written.error, written.returncode) == ({"n": 3}, None, 0)
    crashed = run_json(python("raise SystemExit('boom: bad input')"), 60)
    assert crashed.data is None and crashed.error == "failed (exit 1): boom: bad input"
    silent = run_json(python("import sys; sys.stderr.write('nothing to say')"), 60)
    assert silent.error == "no JSON written (exit 0): nothing to say"
    tolerated = run_json(python("import sys; sys.exit(1)"), 60, ok_codes=(0, 1))
    assert tolerated.error is not None and tolerated.error.startswith("no JSON written (exit 1)")


def _leak_run(seconds: float, function: str, retained_by: str) -> LeakRun:
    leak = {
        "kinds": ["global"],
        "type": "dict",
        "allocated_at": [{"file": "leak_unit.py", "line": 18, "function": function}],
        "retained_by": retained_by,
    }
    return LeakRun("leak_unit.py:handle_request", JsonRun({"leaks": [leak]}, None, seconds, 1))


def test_leak_check_bar_needs_the_planted_leak_and_the_time_limit() -> None:
    def verdict(run: LeakRun) -> Verdict:
        return leak_check_bar(run, 30).verdict

    assert verdict(_leak_run(2.0, "open_session", "leak_unit.SESSION_LOG[29]")) is Verdict.MET
    assert verdict(_leak_run(6.0, "open_session", "leak_unit.SESSION_LOG[29]")) is Verdict.NOT_MET
    assert verdict(_leak_run(2.0, "handle_request", "leak_unit.RECENT[3]")) is Verdict.NOT_MET
    failed = LeakRun("x:y", JsonRun(None, "failed (exit 2): no such command", 0.1, 2))
    assert verdict(failed) is Verdict.NOT_MEASURED


FAKE_HEAP_BENCH = """
def run_heap_benchmarks(quick=False):
    return [
        {"what": "snapshot", "tool": "memhound", "objects": 10 if quick else 1600000,
         "seconds": 0.2, "bar": "<= 0.25 s", "met": True, "measured": "0.2 s"},
        {"what": "explain", "tool": "memhound", "seconds": 0.09, "bar": "<= 50 ms", "met": False},
        {"what": "heap()", "tool": "guppy3", "seconds": 1.1},
    ]
"""


def test_heap_rows_and_bars_come_from_heap_bench(tmp_path: Path) -> None:
    """The runner's contract with heap_bench.py, on a stand-in with known rows."""
    for source in BENCH_DIR.glob("*.py"):
        if source.name != "heap_bench.py":
            (tmp_path / source.name).write_text(source.read_text())
    (tmp_path / "workloads").mkdir()
    (tmp_path / "heap_bench.py").write_text(FAKE_HEAP_BENCH)
    command = [sys.executable, str(tmp_path / "run.py"), "--quick", "--sections", "heap"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    heap = _section(done.stdout, "## Heap snapshot")
    rows = _table_rows(heap)
    assert rows["what"] == ["tool", "objects", "seconds", "bar", "met", "measured"]
    assert rows["snapshot"] == ["memhound", "10", "0.2", "<= 0.25 s", "yes", "0.2 s"]
    bars = _table_rows(_section(done.stdout, "## Bars (DESIGN.md, Performance bars)"))
    assert bars["snapshot (memhound)"] == ["<= 0.25 s", "0.2 s", "**met**"]
    assert bars["explain (memhound)"] == ["<= 50 ms", "see the heap table", "**not met**"]
    assert not any(label.startswith("heap()") for label in bars)  # no bar: not in the summary


# ---- a real quick run, parsed back ---------------------------------------------------------


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    output = tmp_path_factory.mktemp("bench") / "BENCHMARKS.md"
    command = [
        sys.executable,
        str(BENCH_DIR / "run.py"),
        "--quick",
        "--write",
        str(output),
        "--workloads",
        "object_churn,threads",
        "--tools",
        "tracemalloc-1,memhound-full",
        "--sections",
        "tracing,asizeof,leaks",
        "--timeout",
        "120",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    return output.read_text(encoding="utf-8")


def _section(report: str, title: str) -> str:
    start = report.index(title + "\n")
    following = report.find("\n## ", start + len(title))
    return report[start : following if following != -1 else len(report)]


def _table_rows(section: str) -> dict[str, list[str]]:
    """First cell -> the other cells, for the data rows of the first table in a section."""
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        if rows and not line.startswith("|"):
            break  # the end of the first table
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and not line.startswith("|---"):
            rows[cells[0]] = cells[1:]
    return rows


def _ratio(cell: str) -> float:
    match = re.fullmatch(
        r"\**[\d.]+ m?s \(([\d.]+)x(?:, ±\d+%)?\)\**|\**([\d.]+)x\**(?: \(.*\))?", cell
    )
    assert match, f"not a timing with a ratio: {cell!r}"
    return float(match.group(1) or match.group(2))


def test_report_has_every_section_in_order(quick_report: str) -> None:
    positions = [quick_report.index(title + "\n") for title in SECTION_TITLES]
    assert positions == sorted(positions)
    assert "Skipped in this run" in _section(quick_report, "## Heap snapshot")


def test_machine_section_names_cpu_and_python(quick_report: str) -> None:
    facts = _table_rows(_section(quick_report, "## Machine"))
    assert facts["CPU"] == [cpu_model()]
    assert platform.python_version() in facts["Python"][0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", facts["date (UTC)"][0])


def test_tracing_table_has_timings_ratios_and_geomeans(quick_report: str) -> None:
    rows = _table_rows(_section(quick_report, "## Tracing overhead"))
    assert rows["workload"] == ["plain", "tracemalloc-1", "memhound-full"]
    for workload in ("object_churn", "threads"):
        plain, traced, _ = rows[workload]
        assert _ratio(plain) == 1.0
        assert _ratio(traced) > 1.0  # tracemalloc costs something on an allocation-heavy script
    section = _section(quick_report, "## Tracing overhead")
    assert section.count("| **geomean ratio** |") == 2  # wall-time and CPU-time tables
    per_workload = [_ratio(rows[w][1]) for w in ("object_churn", "threads")]
    assert _ratio(rows["**geomean ratio**"][1]) == pytest.approx(
        math.sqrt(per_workload[0] * per_workload[1]), abs=0.011
    )


def test_memhound_column_matches_its_bar(quick_report: str) -> None:
    memhound_cell = _table_rows(_section(quick_report, "## Tracing overhead"))["threads"][2]
    bars = _table_rows(_section(quick_report, "## Bars (DESIGN.md, Performance bars)"))
    full_bar = next(cells for what, cells in bars.items() if what.startswith("full tracing"))
    if re.match(r"[\d.]+ m?s \(", memhound_cell):
        assert full_bar[2].strip("*") in {"met", "not met"}
    else:
        assert full_bar[2] == "**not measured**"


def test_bars_table_lists_every_bar_with_a_verdict(quick_report: str) -> None:
    bars = _table_rows(_section(quick_report, "## Bars (DESIGN.md, Performance bars)"))
    bars.pop("what")
    labels = " ".join(bars)
    for topic in ("full tracing", "sampled tracing", "capture size", "heap", "asizeof", "leak"):
        assert topic in labels
    assert {cells[2].strip("*") for cells in bars.values()} <= VERDICTS


def test_asizeof_section_times_pympler(quick_report: str) -> None:
    rows = _table_rows(_section(quick_report, "## asizeof"))
    assert float(rows["pympler.asizeof"][1]) > 0  # microseconds per object
    assert rows["pympler.asizeof"][3:] == ["100.0%", "1.00x"]
    assert (
        rows["memhound.asizeof"][0] in {"not installed", "not implemented yet"}
        or float(rows["memhound.asizeof"][1]) > 0
    )


def test_real_suites_section_replaces_its_own_and_survives_a_rewrite(tmp_path: Path) -> None:
    from _markdown import replace_section
    from real_suites import TITLE, section
    from run import _with_kept_blocks

    row = ["demo", "3", "3 passed in 0.1 s", "3 (100.0%)", "0", "0", "0", "1.0 s (10.0x)"]
    new = section([row])
    document = "# Benchmarks\n\n## Machine\n\nfacts\n"
    once = replace_section(document, TITLE, new)
    assert once.count(TITLE) == 1 and once.startswith(document.rstrip("\n"))
    twice = replace_section(once + "\n## Later\n\ntext\n", TITLE, new.replace("demo", "other"))
    assert twice.count(TITLE) == 1 and "| other |" in twice and "## Later" in twice
    rewritten = _with_kept_blocks("# Benchmarks\n\n## Machine\n\nnew facts\n", once)
    assert "new facts" in rewritten and "| demo |" in rewritten and "\nfacts" not in rewritten


def test_version_blocks_replace_their_own_and_survive_a_full_rewrite() -> None:
    from run import _with_kept_blocks, _with_version_block

    document = "# Benchmarks\n\n## Machine\n\nfacts\n"
    block_312 = "## CPython 3.12: tracing overhead and heap snapshot\n\nfirst 3.12\n"
    block_313 = "## CPython 3.13: tracing overhead and heap snapshot\n\nfirst 3.13\n"
    both = _with_version_block(_with_version_block(document, block_312), block_313)
    assert both.index("first 3.12") < both.index("first 3.13")
    again = _with_version_block(both, block_312.replace("first", "second"))
    assert "second 3.12" in again and "first 3.12" not in again
    assert again.index("second 3.12") < again.index("first 3.13")
    rewritten = _with_kept_blocks("# Benchmarks\n\n## Machine\n\nnew facts\n", again)
    assert "new facts" in rewritten and "\nfacts" not in rewritten
    assert "second 3.12" in rewritten and "first 3.13" in rewritten
