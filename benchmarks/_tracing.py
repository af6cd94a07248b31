"""Tracing overhead: every workload under every tool, interleaved, plus capture bytes per event.

Method: for each of N rounds, for each workload, one pass runs it under each tool in turn (so
that machine noise spreads over all tools alike), then LIGHT_PASSES more passes run plain python
and the light tools again (those within LIGHT_FACTOR of plain): their bars are a few percent, so
they get more samples where samples are cheap. The wall time of the whole process is measured
from outside (interpreter start, tool start-up and the tool's final flush/compression all count).
Each run is paired with the plain run of its pass; the report gives medians, and ratios are the
median of the paired ratios. The CPU time (user + system of the child and its threads) is
recorded beside the wall time.
"""

from __future__ import annotations

import functools
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from _proc import last_line
from _stats import geomean, median
from _tools import BASELINE_TOOL, BENCH_DIR, Tool

WORKLOAD_DIR = BENCH_DIR / "workloads"
COUNTER_SCRIPT = BENCH_DIR / "_count_events.py"
BASELINE = BASELINE_TOOL
Metric = Literal["wall", "cpu"]  # wall-clock time, or user + system CPU time of the process
LIGHT_PASSES = 2  # extra passes per round and workload for the light tools
LIGHT_FACTOR = 2.0  # a tool is light when its median so far is within this factor of plain's


@dataclass
class Cell:
    """One workload under one tool: its timings, or why it could not run, and its capture."""

    seconds: list[float] = field(default_factory=list)  # wall time of each run
    cpu_seconds: list[float] = field(default_factory=list)  # user + sys time of each run
    # The plain run of each run's pass (wall, CPU); 0.0 where plain failed in that pass.
    plain_seconds: list[float] = field(default_factory=list)
    plain_cpu_seconds: list[float] = field(default_factory=list)
    failure: str | None = None
    capture_bytes: int | None = None
    events: int | None = None
    count_failure: str | None = None


@dataclass
class TracingResults:
    workloads: list[str]
    tools: list[Tool]
    repeat: int
    scale: float
    cells: dict[tuple[str, str], Cell]

    def cell(self, workload: str, tool: str) -> Cell:
        return self.cells[(workload, tool)]

    def timings(self, workload: str, tool: str, metric: Metric = "wall") -> list[float]:
        """The rounds' timings; empty when the tool failed on this workload."""
        cell = self.cell(workload, tool)
        if cell.failure is not None:
            return []
        return cell.seconds if metric == "wall" else cell.cpu_seconds

    def median_seconds(self, workload: str, tool: str, metric: Metric = "wall") -> float | None:
        values = self.timings(workload, tool, metric)
        return median(values) if values else None

    def spread(self, workload: str, tool: str) -> float | None:
        """Half the range of the timings relative to their median (None with fewer than 2)."""
        values = self.timings(workload, tool)
        if len(values) < 2:
            return None
        return (max(values) - min(values)) / (2 * median(values))

    def ratio(self, workload: str, tool: str, metric: Metric = "wall") -> float | None:
        """Median over the runs of the tool's time / plain python's time in the same pass: a slow
        spell of the machine that hits both runs of a pass cancels out."""
        cell = self.cell(workload, tool)
        values = self.timings(workload, tool, metric)
        base = cell.plain_seconds if metric == "wall" else cell.plain_cpu_seconds
        if not values or len(values) != len(base) or not all(base):
            return None
        return median([value / plain for value, plain in zip(values, base)])

    def geomean_ratio(self, tool: str, metric: Metric = "wall") -> tuple[float | None, list[str]]:
        """Geomean of the per-workload ratios, and the workloads that have no ratio."""
        ratios = {w: self.ratio(w, tool, metric) for w in self.workloads}
        missing = [w for w, r in ratios.items() if r is None]
        present = [r for r in ratios.values() if r is not None]
        return (geomean(present) if present else None), missing

    def bytes_per_event(self, workload: str, tool: str) -> float | None:
        cell = self.cell(workload, tool)
        if cell.capture_bytes is None or not cell.events:
            return None
        return cell.capture_bytes / cell.events


def available_workloads() -> list[str]:
    return sorted(path.stem for path in WORKLOAD_DIR.glob("*.py"))


Progress = Callable[[str], None]


def measure_tracing(
    workloads: list[str],
    tools: list[Tool],
    repeat: int,
    scale: float,
    workdir: Path,
    timeout_s: float,
    progress: Progress,
) -> TracingResults:
    cells = {(w, t.name): Cell(failure=t.unavailable) for w in workloads for t in tools}
    results = TracingResults(workloads, tools, repeat, scale, cells)
    plain = [tool for tool in tools if tool.name == BASELINE]
    for round_index in range(repeat):
        for workload in workloads:
            line = functools.partial(_progress_line, round_index, repeat, workload)
            run_pass = functools.partial(
                _run_pass,
                workload,
                results=results,
                scale=scale,
                workdir=workdir,
                timeout_s=timeout_s,
                progress=progress,
                line=line,
            )
            run_pass(_cheapest_first(results, workload, tools))
            light = _light_tools(results, workload, tools)
            for _ in range(LIGHT_PASSES if light else 0):
                run_pass(plain + light)
    _count_capture_events(results, workdir, timeout_s)
    return results


def _run_pass(
    workload: str,
    tools: list[Tool],
    results: TracingResults,
    scale: float,
    workdir: Path,
    timeout_s: float,
    progress: Progress,
    line: Callable[[str, Cell], str],
) -> None:
    """Runs the workload under each tool in order (plain python first) and pairs every run with
    this pass's plain run."""
    plain = (0.0, 0.0)
    for tool in tools:
        cell = results.cell(workload, tool.name)
        if cell.failure is not None:
            continue
        _run_once(workload, tool, scale, workdir, timeout_s, cell)
        progress(line(tool.name, cell))
        if cell.failure is not None:
            continue
        if tool.name == BASELINE:
            plain = (cell.seconds[-1], cell.cpu_seconds[-1])
        cell.plain_seconds.append(plain[0])
        cell.plain_cpu_seconds.append(plain[1])


def _light_tools(results: TracingResults, workload: str, tools: list[Tool]) -> list[Tool]:
    """The tools (not plain python) whose median so far is within LIGHT_FACTOR of plain's."""
    plain = results.median_seconds(workload, BASELINE)
    if plain is None:
        return []

    def light(tool: Tool) -> bool:
        seconds = results.median_seconds(workload, tool.name)
        return tool.name != BASELINE and seconds is not None and seconds <= LIGHT_FACTOR * plain

    return [tool for tool in _cheapest_first(results, workload, tools) if light(tool)]


def _cheapest_first(results: TracingResults, workload: str, tools: list[Tool]) -> list[Tool]:
    """The baseline, then the tools by their median so far (column order in the first round), so
    that plain python and the light tools run close together in time, not minutes apart."""

    def cost(tool: Tool) -> float:
        seconds = results.median_seconds(workload, tool.name)
        return 0.0 if tool.name == BASELINE else (seconds if seconds is not None else 0.0)

    return sorted(tools, key=cost)


def capture_path(workdir: Path, workload: str, tool: str) -> Path:
    return workdir / f"{workload}.{tool}.bin"


def _run_once(
    workload: str, tool: Tool, scale: float, workdir: Path, timeout_s: float, cell: Cell
) -> None:
    script = WORKLOAD_DIR / f"{workload}.py"
    capture = capture_path(workdir, workload, tool.name)
    capture.unlink(missing_ok=True)
    command = tool.command(script, [repr(scale)], capture)
    cpu_before = _children_cpu_seconds()
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        cell.failure = f"timed out after {timeout_s:.0f} s"
        return
    elapsed = time.perf_counter() - start
    cpu = _children_cpu_seconds() - cpu_before
    if done.returncode != 0:
        cell.failure = f"failed (exit {done.returncode}): {last_line(done.stderr)}"
        return
    cell.seconds.append(elapsed)
    cell.cpu_seconds.append(cpu)
    if tool.capture_format is not None:
        cell.capture_bytes = capture.stat().st_size if capture.exists() else None


def _children_cpu_seconds() -> float:
    """User + system time of all waited-for child processes so far (their threads included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _progress_line(round_index: int, repeat: int, workload: str, tool: str, cell: Cell) -> str:
    outcome = cell.failure or f"{cell.seconds[-1]:.2f} s"
    return f"[tracing {round_index + 1}/{repeat}] {workload:<16} {tool:<18} {outcome}"


def _count_capture_events(results: TracingResults, workdir: Path, timeout_s: float) -> None:
    """Counts the events of each tool's capture from the last round, with the tool's reader."""
    for tool in results.tools:
        if tool.capture_format is None:
            continue
        for workload in results.workloads:
            cell = results.cell(workload, tool.name)
            capture = capture_path(workdir, workload, tool.name)
            if cell.failure is None and capture.exists():
                _count_one(tool.capture_format, capture, cell, timeout_s)
                capture.unlink()


def _count_one(reader: str, capture: Path, cell: Cell, timeout_s: float) -> None:
    command = [sys.executable, str(COUNTER_SCRIPT), reader, str(capture)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=timeout_s
        )
    except subprocess.TimeoutExpired:
        cell.count_failure = f"reader timed out after {timeout_s:.0f} s"
        return
    if done.returncode != 0:
        cell.count_failure = f"reader failed: {last_line(done.stderr)}"
        return
    cell.events = int(done.stdout.strip())
