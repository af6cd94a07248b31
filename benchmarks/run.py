#!/usr/bin/env python3
"""Side-by-side benchmarks of memhound against the tools users would pick instead.

Usage: python3 benchmarks/run.py [--quick] [--write BENCHMARKS.md] [--repeat N]
                                 [--workloads a,b] [--tools a,b] [--sections a,b]
                                 [--version-section]
Sections: tracing (overhead + capture bytes per event), heap (benchmarks/heap_bench.py),
asizeof, summary (memhound.summary against Pympler and objgraph), class-tracker, leaks. Each
section degrades to a row that says why when a tool or a memhound feature is missing. The
markdown goes to --write (BENCHMARKS.md is generated, never edited by hand) or stdout.
--version-section measures the tracing and heap sections on the running interpreter and writes
them as that version's block ("## CPython 3.X: ...") of the --write file, keeping the rest; a full
run keeps the other versions' blocks.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _asizeof_section import TITLE as ASIZEOF_TITLE
from _asizeof_section import asizeof_section
from _class_tracker_section import TITLE as CLASS_TRACKER_TITLE
from _class_tracker_section import class_tracker_section
from _heap_section import TITLE as HEAP_TITLE
from _heap_section import heap_section
from _leaks_section import TITLE as LEAKS_TITLE
from _leaks_section import leaks_section
from _machine import load_average, machine_facts
from _markdown import BarResult, Verdict, bars_table, table
from _section import SectionReport
from _summary_section import TITLE as SUMMARY_TITLE
from _summary_section import summary_section
from _tools import BASELINE_TOOL, SAMPLE_BYTES, TOOL_NAMES, Tool, build_tools
from _tracing import LIGHT_FACTOR, LIGHT_PASSES, available_workloads
from _tracing_section import (
    CAPTURE_TITLE,
    OVERHEAD_TITLE,
    tracing_sections,
    workload_summary,
)
from html_bench import TITLE as HTML_TITLE
from reading_bench import TITLE as READING_TITLE
from real_suites import TITLE as SUITES_TITLE

SECTIONS = ("tracing", "heap", "asizeof", "summary", "class-tracker", "leaks")
VERSION_SECTIONS = ("tracing", "heap")  # measured on each supported Python version
VERSION_BLOCK_PREFIX = "## CPython 3."
SECTION_TITLES = {
    "tracing": (OVERHEAD_TITLE, CAPTURE_TITLE),
    "heap": (HEAP_TITLE,),
    "asizeof": (ASIZEOF_TITLE,),
    "summary": (SUMMARY_TITLE,),
    "class-tracker": (CLASS_TRACKER_TITLE,),
    "leaks": (LEAKS_TITLE,),
}
FULL_SCALE, QUICK_SCALE = 1.0, 0.05
FULL_ASIZEOF_NODES, QUICK_ASIZEOF_NODES = 50_000, 2_000
FULL_SUMMARY_INSTANCES, QUICK_SUMMARY_INSTANCES = 200_000, 10_000
# The ClassTracker loop: (iterations, pympler.classtracker's iterations), full and quick.
FULL_CLASS_TRACKER, QUICK_CLASS_TRACKER = (1_000_000, 100_000), (50_000, 2_000)
LEAK_ITERATIONS = 30


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: workload scale {QUICK_SCALE}, 1 round, small graphs",
    )
    parser.add_argument("--write", metavar="PATH", help="write the markdown report to PATH")
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="interleaved rounds of the tracing benchmark (default 3, quick 1)",
    )
    parser.add_argument(
        "--workloads",
        metavar="LIST",
        help=f"comma-separated subset of: {','.join(available_workloads())}",
    )
    parser.add_argument(
        "--tools",
        metavar="LIST",
        help=f"comma-separated subset of: {','.join(TOOL_NAMES)} (plain always runs)",
    )
    parser.add_argument(
        "--sections",
        metavar="LIST",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of: {','.join(SECTIONS)}",
    )
    parser.add_argument(
        "--version-section",
        action="store_true",
        help="tracing and heap only, written as this Python version's block of the --write file",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="S",
        help="limit for any one process, in seconds (default 600)",
    )
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.repeat = args.repeat or (1 if args.quick else 3)
    if args.version_section:
        if not args.write:
            parser.error("--version-section needs --write")
        args.sections = ",".join(VERSION_SECTIONS)
    args.sections = _choose(parser, "--sections", args.sections, list(SECTIONS))
    args.workloads = _choose(parser, "--workloads", args.workloads, available_workloads())
    args.tools = _choose(parser, "--tools", args.tools, list(TOOL_NAMES))
    return args


def _choose(
    parser: argparse.ArgumentParser, flag: str, value: str | None, known: list[str]
) -> list[str]:
    if value is None:
        return known
    chosen = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in known]
    if unknown or not chosen:
        parser.error(
            f"{flag}: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(known)}"
        )
    return chosen


def select_tools(wanted: list[str], tools: list[Tool]) -> list[Tool]:
    """The chosen tools in report order; the plain baseline is always kept."""
    return [tool for tool in tools if tool.name in wanted or tool.name == BASELINE_TOOL]


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def collect_sections(args: argparse.Namespace, tools: list[Tool]) -> list[SectionReport]:
    memhound_missing = next((t.unavailable for t in tools if t.name == "memhound-full"), None)
    reports: list[SectionReport] = []
    # A version block holds only what it measures; the full report lists the skipped sections.
    for section in args.sections if args.version_section else SECTIONS:
        if section not in args.sections:
            reports += _skipped(section)
        elif section == "tracing":
            scale = QUICK_SCALE if args.quick else FULL_SCALE
            reports += tracing_sections(
                args.workloads, tools, args.repeat, scale, args.timeout, progress
            )
        elif section == "heap":
            reports.append(heap_section(args.quick, args.timeout))
        elif section == "asizeof":
            nodes = QUICK_ASIZEOF_NODES if args.quick else FULL_ASIZEOF_NODES
            reports.append(asizeof_section(nodes, args.timeout))
        elif section == "summary":
            instances = QUICK_SUMMARY_INSTANCES if args.quick else FULL_SUMMARY_INSTANCES
            reports.append(summary_section(instances, args.timeout))
        elif section == "class-tracker":
            loops, pympler_loops = QUICK_CLASS_TRACKER if args.quick else FULL_CLASS_TRACKER
            reports.append(class_tracker_section(loops, pympler_loops, args.timeout))
        else:
            reports.append(leaks_section(LEAK_ITERATIONS, args.timeout, memhound_missing))
        progress(f"[{section}] done")
    return reports


def _skipped(section: str) -> list[SectionReport]:
    bar = BarResult(
        f"{section} bars", "see DESIGN.md", "section skipped in this run", Verdict.NOT_MEASURED
    )
    titles = SECTION_TITLES[section]
    return [
        SectionReport(title, "Skipped in this run (`--sections`).", [bar] if i == 0 else [])
        for i, title in enumerate(titles)
    ]


def method_text(args: argparse.Namespace, tools: list[Tool]) -> str:
    lines = [
        (
            f"- Tracing overhead: {len(args.workloads)} workload scripts "
            f"(`benchmarks/workloads/`), each run as its own process under each tool; "
            f"{args.repeat} round(s), interleaved (in each round, for each workload, one pass "
            "runs every tool in turn, plain python first, then the tools cheapest first; then "
            f"{LIGHT_PASSES} more passes run plain python and the light tools, those within "
            f"{LIGHT_FACTOR:g}x of plain, whose bars are a few percent); wall time of the whole "
            "process; median per workload and tool; ratio = median over the runs of (time under "
            "the tool / time of plain python in the same pass); geomean of the ratios."
        ),
        "- Tools:",
        *(f"  - `{tool.name}`: `{tool.command_shape}`" for tool in tools),
        (
            "- `tracemalloc_run.py N` calls `tracemalloc.start(N)`, then runs the script with "
            "`runpy.run_path` as `__main__`."
        ),
        f"- memhound sampled mode: `--sample-bytes {SAMPLE_BYTES}` (mean bytes between samples).",
        (
            "- Ratios below 1.00x on the deep-recursion workloads are real: CPython maps and "
            "unmaps a chunk of its frame data stack each time recursion crosses a chunk "
            "boundary, and while tracing memhound keeps a few freed chunks for reuse (see "
            "docs/design.md), which saves plain python's page faults and munmaps."
        ),
        "- Workloads:",
        *(f"  - `{name}`: {workload_summary(name)}" for name in args.workloads),
        "- Heap, asizeof, summary, ClassTracker and leak-check benchmarks: each in a fresh process.",
    ]
    if args.quick:
        lines.append(
            "- **Quick smoke run** (`--quick`): small sizes and 1 round; figures are "
            "dominated by start-up time and are not comparable with the bars."
        )
    return "\n".join(lines)


def render(
    args: argparse.Namespace,
    facts: dict[str, str],
    tools: list[Tool],
    sections: list[SectionReport],
    argv: list[str],
) -> str:
    facts = {**facts, "load average at end (1/5/15 min)": load_average()}
    bars = [bar for section in sections for bar in section.bars]
    parts = [
        "# memhound benchmarks",
        (
            f"Generated by `python3 benchmarks/run.py {' '.join(argv)}`. "
            "Do not edit by hand: rerun `make bench`."
        ),
        "## Machine",
        table(["fact", "value"], [[key, value] for key, value in facts.items()]),
        "## Method",
        method_text(args, tools),
        "## Bars (DESIGN.md, Performance bars)",
        bars_table(bars),
        *(part for section in sections for part in (f"## {section.title}", section.body)),
    ]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    facts = machine_facts()
    tools = select_tools(args.tools, build_tools(sys.executable))
    sections = collect_sections(args, tools)
    if args.version_section:
        old = _read(args.write)
        block = render_version_block(facts, sections, argv)
        Path(args.write).write_text(_with_version_block(old, block), encoding="utf-8")
        progress(f"wrote the {version_title()} block of {args.write}")
        return 0
    report = render(args, facts, tools, sections, argv)
    if args.write:
        Path(args.write).write_text(_with_kept_blocks(report, _read(args.write)), encoding="utf-8")
        progress(f"wrote {args.write}")
    else:
        sys.stdout.write(report)
    return 0


def version_title() -> str:
    return f"CPython {sys.version_info.major}.{sys.version_info.minor}"


def render_version_block(
    facts: dict[str, str], sections: list[SectionReport], argv: list[str]
) -> str:
    """One version's tracing and heap figures, its bars first, headings one level down."""
    bars = [bar for section in sections for bar in section.bars]
    parts = [
        f"## {version_title()}: tracing overhead and heap snapshot",
        (
            f"Generated by `python benchmarks/run.py {' '.join(argv)}` on {facts['Python']}, "
            f"{facts['date (UTC)']}, commit {facts['repository commit']}; method as above."
        ),
        bars_table(bars),
        *(part for section in sections for part in (f"### {section.title}", section.body)),
    ]
    return "\n\n".join(parts) + "\n"


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8") if Path(path).exists() else ""


def _blocks(text: str) -> dict[str, str]:
    """The file's "## " blocks by heading line, each up to the next "## " heading."""
    starts = [match.start() for match in re.finditer(r"^## ", text, re.MULTILINE)]
    found: dict[str, str] = {}
    for start, end in itertools.pairwise([*starts, len(text)]):
        block = text[start:end].rstrip("\n") + "\n"
        found[block.split("\n", 1)[0]] = block
    return found


def _kept(old: str) -> list[str]:
    """The blocks a run does not measure: the real suites (real_suites.py writes it, with
    projects fetched by hand), reading at scale (reading_bench.py), HTML reports (html_bench.py)
    and the other Python versions' blocks, in the old file's order."""
    return [
        block
        for heading, block in _blocks(old).items()
        if heading in (SUITES_TITLE, READING_TITLE, HTML_TITLE)
        or heading.startswith(VERSION_BLOCK_PREFIX)
    ]


def _with_kept_blocks(report: str, old: str) -> str:
    return "\n".join([report.rstrip("\n") + "\n", *_kept(old)])


def _with_version_block(old: str, block: str) -> str:
    """The old file with this version's block replaced (or added after the other blocks)."""
    heading = block.split("\n", 1)[0]
    current = _blocks(old).get(heading)
    if current is not None:
        return old.replace(current, block)
    return old.rstrip("\n") + "\n\n" + block


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
