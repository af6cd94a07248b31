#!/usr/bin/env python3
"""Leak checks of real projects' test suites: `pytest --memhound-leaks` against the plain run.

Usage: python3 benchmarks/real_suites.py --suite NAME=CHECKOUT:TESTS [--suite ...]
                                         [--write BENCHMARKS.md]
Each CHECKOUT is a project fetched and installed beforehand into the running interpreter's
environment (none of its code belongs to this repository); TESTS is its test folder. For each
suite: the plain run's outcomes and time, then the checked run's, the verdicts from
--memhound-leaks-json, and the tests that pass plainly but fail checked (false failures unless
the leak is real; each is listed). With --write, the section replaces the one of the same
title in that file (benchmarks/run.py keeps it when it rewrites the file).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _markdown import table, write_section

TITLE = "## Leak checks of real test suites"
OUTCOME = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")


@dataclass(frozen=True)
class SuiteRun:
    seconds: float
    outcomes: dict[str, int]
    failed: frozenset[str]


def run_pytest(checkout: Path, tests: str, extra: list[str]) -> SuiteRun:
    command = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", tests]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, *extra], cwd=checkout, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    lines = done.stdout.splitlines()
    summary = lines[-1] if lines else ""
    outcomes = {kind.rstrip("s"): int(n) for n, kind in OUTCOME.findall(summary)}
    failed = frozenset(line.split()[1] for line in lines if line.startswith(("FAILED ", "ERROR ")))
    return SuiteRun(seconds, outcomes, failed)


def measure(name: str, checkout: Path, tests: str) -> list[str]:
    plain = run_pytest(checkout, tests, [])
    with tempfile.TemporaryDirectory() as folder:
        verdicts_path = Path(folder) / "verdicts.json"
        checked = run_pytest(
            checkout, tests, ["--memhound-leaks", f"--memhound-leaks-json={verdicts_path}"]
        )
        verdicts = json.loads(verdicts_path.read_text(encoding="utf-8"))
    totals = verdicts["totals"]
    tests_run = sum(totals.values())
    checked_count = totals["clean"] + totals["leaking"]
    newly_failed = sorted(checked.failed - plain.failed)
    return [
        name,
        f"{tests_run:,}",
        f"{plain.outcomes.get('passed', 0):,} passed in {plain.seconds:.1f} s",
        f"{checked_count:,} ({checked_count / max(tests_run, 1):.1%})",
        f"{totals['not_repeatable']}",
        f"{totals['not_checked']}",
        f"{len(newly_failed)}" + (f": {', '.join(newly_failed)}" if newly_failed else ""),
        f"{checked.seconds:.1f} s ({checked.seconds / max(plain.seconds, 1e-9):.1f}x)",
    ]


def section(rows: list[list[str]]) -> str:
    header = [
        "suite",
        "tests",
        "plain run",
        "checked",
        "not repeatable",
        "not checked",
        "fail only when checked",
        "checked run",
    ]
    intro = (
        "`pytest --memhound-leaks` (default iterations) on projects' own test suites, fetched "
        "from their public repositories and run as their READMEs say, against the plain run "
        "in the same environment. *Fail only when checked* lists the tests that pass plainly "
        "and fail checked: each is a leak report, true or false."
    )
    return f"{TITLE}\n\n{intro}\n\n{table(header, rows)}\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", required=True, metavar="NAME=CHECKOUT:TESTS")
    parser.add_argument("--write", metavar="PATH")
    args = parser.parse_args(argv)
    rows = []
    for spec in args.suite:
        name, _, location = spec.partition("=")
        checkout, _, tests = location.rpartition(":")
        rows.append(measure(name, Path(checkout), tests))
        print(" | ".join(rows[-1]), file=sys.stderr)
    text = section(rows)
    write_section(args.write, TITLE, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
