#!/usr/bin/env python3
"""HTML reports of a 10M-event capture: render time, page size, and the page's speed in Chromium.

Usage: python3 benchmarks/html_bench.py [--rounds N] [--scale S] [--write BENCHMARKS.md]
Traces benchmarks/reading/keep_one_in_100.py at --scale (0.22: about 10M events) once under
`memhound run` and once under `memray run --trace-python-allocators`, then times, in
interleaved rounds, `memhound report --peak`, `memhound flamegraph --peak` and
`memray flamegraph` (wall time and peak RSS from wait4, medians). Then opens memhound's page in
headless Chromium (tests/python/devtools.py) and times, inside the page, its first drawing, a
zoom, a search and a time-range selection (medians of --rounds).
With --write, the section replaces the one of the same title in that file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "python"))

from _markdown import BarResult, bars_table, table, verdict_of, write_section
from reading_bench import WORKLOAD, measured

TITLE = "## HTML reports"

# Each action's time inside the page (ms), measured with performance.now() around the call
# that a click, a keystroke or a drag makes.
PAGE_ACTIONS = {
    "first drawing (script start to drawn page)": "memhoundReport.drawnMs",
    "zoom into a frame": """(() => { const e = document.querySelector('#flame .fr[data-depth="2"]');
        const t = performance.now(); e.click(); return performance.now() - t; })()""",
    "search (each keystroke)": """(() => { const box = document.getElementById('search');
        box.value = 'make'; const t = performance.now();
        box.dispatchEvent(new Event('input')); return performance.now() - t; })()""",
    "select a time range": """(() => { const t = performance.now();
        memhoundReport.selectRange(0, 1e9);
        return performance.now() - t; })()""",
}


def trace(folder: Path, scale: float) -> dict[str, Path]:
    python = sys.executable
    captures = {"memhound": folder / "workload.mh", "memray": folder / "workload.memray"}
    program = [str(WORKLOAD), str(scale)]
    measured([python, "-m", "memhound", "run", "-o", str(captures["memhound"]), *program], folder)
    memray = [python, "-m", "memray", "run", "--trace-python-allocators", "-q", "-f"]
    measured([*memray, "-o", str(captures["memray"]), *program], folder)
    return captures


def commands(captures: dict[str, Path], folder: Path) -> dict[str, list[str]]:
    python, mh, mr = sys.executable, str(captures["memhound"]), str(captures["memray"])
    return {
        "memhound report --peak": [python, "-m", "memhound", "report", "--peak", mh],
        "memhound flamegraph --peak": [
            *[python, "-m", "memhound", "flamegraph", "--peak", mh],
            *["-o", str(folder / "memhound.html")],
        ],
        "memray flamegraph": [
            *[python, "-m", "memray", "flamegraph", "-f", mr],
            *["-o", str(folder / "memray.html")],
        ],
    }


def time_commands(named: dict[str, list[str]], rounds: int, folder: Path) -> dict[str, tuple]:
    runs: dict[str, list[tuple[float, int]]] = {name: [] for name in named}
    for round_number in range(rounds):
        for name, command in named.items():
            runs[name].append(measured(command, folder))
            print(f"round {round_number + 1} {name}: {runs[name][-1][0]:.2f} s", file=sys.stderr)
    return {
        name: (statistics.median(t for t, _ in each), int(statistics.median(r for _, r in each)))
        for name, each in runs.items()
    }


def time_page(page: Path, rounds: int) -> dict[str, float]:
    from devtools import Browser

    browser = Browser()
    try:
        times: dict[str, list[float]] = {name: [] for name in PAGE_ACTIONS}
        for _ in range(rounds):
            browser.open(page)
            for name, expression in PAGE_ACTIONS.items():
                times[name].append(float(browser.evaluate(expression)))
        if browser.errors():
            raise RuntimeError(f"the page logged errors: {browser.errors()}")
    finally:
        browser.close()
    return {name: statistics.median(each) for name, each in times.items()}


def events_in(capture: Path) -> int:
    import memhound

    return int(memhound.read_capture(capture).file_event_count)


def section(
    reports: dict[str, tuple],
    page: dict[str, float],
    sizes: dict[str, int],
    events: int,
    rounds: int,
) -> str:
    html_t, _ = reports["memhound flamegraph --peak"]
    memray_t, _ = reports["memray flamegraph"]
    slowest = max(page.values())
    bars = [
        BarResult(
            f"flamegraph of a {events / 1e6:.0f}M-event capture",
            "a few seconds (<= 5 s)",
            f"{html_t:.2f} s ({html_t / memray_t:.2f}x memray flamegraph's {memray_t:.2f} s)",
            verdict_of(html_t, 5.0),
        ),
        BarResult(
            "the page's slowest action in Chromium",
            "<= 100 ms (responsive)",
            f"{slowest:.0f} ms",
            verdict_of(slowest, 100.0),
        ),
    ]
    intro = (
        "`benchmarks/html_bench.py`: `benchmarks/reading/keep_one_in_100.py` traced once by each "
        f"tool ({events:,} events in memhound's capture); each command run {rounds} times, "
        "interleaved, as its own process; medians of the wall time and of the peak RSS (wait4). "
        "`memhound flamegraph` reads the capture twice: once for the view and the timeline, once "
        "more for what was live at 24 points of the run. The page is then opened in headless "
        "Chromium and each action timed inside it (performance.now(), medians). The bars are "
        "issue 14's: a few seconds for 10M events, a page that stays responsive."
    )
    rows = [
        [name, f"{t:.2f} s", f"{rss / 2**20:.0f} MiB", _size(sizes.get(name))]
        for name, (t, rss) in reports.items()
    ]
    page_rows = [[name, f"{ms:.1f} ms"] for name, ms in page.items()]
    return (
        "\n\n".join(
            [
                TITLE,
                intro,
                bars_table(bars),
                table(["command (same program)", "time", "peak RSS", "page"], rows),
                table(["in the page (Chromium, headless)", "time"], page_rows),
            ]
        )
        + "\n\nThe page's data is bounded by the stacks it keeps (at most 3,000 for the view, 400 "
        "for each live point), not by the events.\n"
    )


def _size(size: int | None) -> str:
    return "" if size is None else f"{size / 1024:.0f} KiB"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=0.22)
    parser.add_argument("--write", metavar="PATH")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="memhound-html-") as tmp:
        folder = Path(tmp)
        captures = trace(folder, args.scale)
        reports = time_commands(commands(captures, folder), args.rounds, folder)
        sizes = {
            "memhound flamegraph --peak": (folder / "memhound.html").stat().st_size,
            "memray flamegraph": (folder / "memray.html").stat().st_size,
        }
        page = time_page(folder / "memhound.html", args.rounds)
        events = events_in(captures["memhound"])
    write_section(args.write, TITLE, section(reports, page, sizes, events, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
