#!/usr/bin/env python3
"""Reading long captures: memhound's streamed reports against memray's, and a synthetic capture.

Usage: python3 benchmarks/reading_bench.py [--rounds N] [--synthetic-events N] [--write BENCHMARKS.md]
1. Traces benchmarks/reading/keep_one_in_100.py (about 45M events) once under `memhound run`
   and once under `memray run --trace-python-allocators`, then times, in interleaved rounds,
   `memhound report --peak`, `memhound stats`, `memray flamegraph` and `memray stats` on the two
   captures: wall time and peak RSS (the kernel's, from wait4) of each command, medians.
2. Builds benchmarks/reading/synthetic_capture.cpp (memhound's own CaptureWriter) and writes a
   capture of --synthetic-events events (default 1e9) with 1M allocations live, then times
   `memhound stats` on it: wall time, events per second and peak RSS.
With --write, the section replaces the one of the same title in that file (benchmarks/run.py
keeps it when it rewrites the file).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _markdown import BarResult, bars_table, table, verdict_of, write_section

TITLE = "## Reading captures at scale"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORKLOAD = HERE / "reading" / "keep_one_in_100.py"
GENERATOR_SOURCE = HERE / "reading" / "synthetic_capture.cpp"
GENERATOR = ROOT / "build" / "bench" / "synthetic_capture"
SYNTHETIC_LIVE = 1_000_000


def measured(command: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS in bytes of one command (its output discarded)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {process.stderr.read().decode()[-300:]}")
    return seconds, usage.ru_maxrss * 1024


def trace_workload(folder: Path) -> dict[str, Path]:
    python = sys.executable
    plain, _ = measured([python, str(WORKLOAD)], folder)
    print(f"plain run {plain:.2f} s", file=sys.stderr)
    captures = {"memhound": folder / "workload.mh", "memray": folder / "workload.memray"}
    measured(
        [python, "-m", "memhound", "run", "-o", str(captures["memhound"]), str(WORKLOAD)], folder
    )
    memray = [python, "-m", "memray", "run", "--trace-python-allocators", "-q", "-f"]
    measured([*memray, "-o", str(captures["memray"]), str(WORKLOAD)], folder)
    return captures


def report_commands(captures: dict[str, Path], folder: Path) -> dict[str, list[str]]:
    python, mh, mr = sys.executable, str(captures["memhound"]), str(captures["memray"])
    html = str(folder / "flamegraph.html")
    return {
        "memhound report --peak": [python, "-m", "memhound", "report", "--peak", mh],
        "memhound stats": [python, "-m", "memhound", "stats", mh],
        "memray flamegraph": [python, "-m", "memray", "flamegraph", "-f", "-o", html, mr],
        "memray stats": [python, "-m", "memray", "stats", mr],
    }


def time_reports(
    commands: dict[str, list[str]], rounds: int, folder: Path
) -> dict[str, tuple[float, int]]:
    runs: dict[str, list[tuple[float, int]]] = {name: [] for name in commands}
    for round_number in range(rounds):
        for name, command in commands.items():
            runs[name].append(measured(command, folder))
            print(f"round {round_number + 1} {name}: {runs[name][-1][0]:.2f} s", file=sys.stderr)
    return {
        name: (statistics.median(t for t, _ in each), int(statistics.median(r for _, r in each)))
        for name, each in runs.items()
    }


def build_generator() -> Path:
    sources = [GENERATOR_SOURCE, *sorted((ROOT / "src" / "core" / "format").glob("*.cpp"))]
    newest = max(path.stat().st_mtime for path in [*sources, *(ROOT / "src/core").rglob("*.h")])
    if GENERATOR.exists() and GENERATOR.stat().st_mtime > newest:
        return GENERATOR
    GENERATOR.parent.mkdir(parents=True, exist_ok=True)
    zstd = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "libzstd"], capture_output=True, text=True, check=True
    ).stdout.split()
    command = [
        "g++",
        "-O2",
        "-std=c++20",
        f"-I{ROOT / 'src'}",
        *map(str, sources),
        *zstd,
        "-pthread",
    ]
    subprocess.run([*command, "-o", str(GENERATOR)], check=True)
    return GENERATOR


def time_synthetic(events: int, rounds: int, folder: Path) -> dict[str, float]:
    generator = build_generator()
    path = folder / "synthetic.mh"
    written, _ = measured([str(generator), str(path), str(events), str(SYNTHETIC_LIVE)], folder)
    size = path.stat().st_size
    runs = [
        measured([sys.executable, "-m", "memhound", "stats", str(path)], folder)
        for _ in range(rounds)
    ]
    path.unlink()
    seconds = statistics.median(t for t, _ in runs)
    return {
        "events": events,
        "bytes": size,
        "write_s": written,
        "read_s": seconds,
        "rss": statistics.median(r for _, r in runs),
        "rate": events / seconds,
    }


def section(reports: dict[str, tuple[float, int]], synthetic: dict[str, float], rounds: int) -> str:
    rows = [[name, f"{t:.2f} s", f"{rss / 2**20:.0f} MiB"] for name, (t, rss) in reports.items()]
    peak_t, peak_rss = reports["memhound report --peak"]
    flame_t, flame_rss = reports["memray flamegraph"]
    time_ratio = peak_t / flame_t
    bars = [
        BarResult(
            "report --peak time against memray flamegraph",
            "<= 1/3 (0.33x)",
            f"{time_ratio:.2f}x ({peak_t:.2f} s against {flame_t:.2f} s)",
            verdict_of(time_ratio, 1 / 3),
        ),
        BarResult(
            "report --peak peak RSS against memray flamegraph",
            "<= memray's",
            f"{peak_rss / 2**20:.0f} MiB against {flame_rss / 2**20:.0f} MiB",
            verdict_of(peak_rss, flame_rss),
        ),
        BarResult(
            f"{synthetic['events'] / 1e9:g}B-event synthetic capture, 1M live: peak RSS",
            "<= 500 MB",
            f"{synthetic['rss'] / 1e6:.0f} MB",
            verdict_of(synthetic["rss"], 500e6),
        ),
        BarResult(
            f"{synthetic['events'] / 1e9:g}B-event synthetic capture: read rate",
            ">= 50M events/s",
            f"{synthetic['rate'] / 1e6:.1f}M events/s",
            verdict_of(synthetic["rate"], 50e6, lower_is_better=False),
        ),
    ]
    intro = (
        f"`benchmarks/reading_bench.py`: `benchmarks/reading/keep_one_in_100.py` traced once by each "
        f"tool; each command then run {rounds} times, interleaved, as its own process; medians of "
        "the wall time and of the peak RSS the kernel reports (wait4). The synthetic capture is "
        "written by memhound's CaptureWriter (`benchmarks/reading/synthetic_capture.cpp`, two "
        "threads' batches interleaving, 1M allocations live) and read by `memhound stats` "
        f"({synthetic['bytes'] / 1e9:.2f} GB on disk, written in {synthetic['write_s']:.0f} s)."
    )
    synthetic_rows = [
        [
            f"{synthetic['events']:,}",
            f"{synthetic['read_s']:.1f} s",
            f"{synthetic['rate'] / 1e6:.1f}M/s",
            f"{synthetic['rss'] / 2**20:.0f} MiB",
        ]
    ]
    return (
        "\n\n".join(
            [
                TITLE,
                intro,
                bars_table(bars),
                table(["command (same program)", "time", "peak RSS"], rows),
                table(["synthetic events", "memhound stats", "rate", "peak RSS"], synthetic_rows),
            ]
        )
        + "\n"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--synthetic-events", type=float, default=1e9)
    parser.add_argument("--write", metavar="PATH")
    args = parser.parse_args(argv)
    if shutil.which("g++") is None:
        print(
            "reading_bench: g++ is needed to build the synthetic capture generator", file=sys.stderr
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="memhound-reading-") as tmp:
        folder = Path(tmp)
        reports = time_reports(report_commands(trace_workload(folder), folder), args.rounds, folder)
        synthetic = time_synthetic(int(args.synthetic_events), max(1, args.rounds - 1), folder)
    text = section(reports, synthetic, args.rounds)
    write_section(args.write, TITLE, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
