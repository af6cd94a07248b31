"""The leak-check section: the wall time and verdict of `memhound leaks` on small units of work."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from _markdown import BarResult, Verdict, table
from _proc import JsonRun, run_json
from _section import SectionReport
from _stats import format_seconds
from _tools import BENCH_DIR

TITLE = "Leak check"
OWN_UNIT = f"{BENCH_DIR / 'leak_unit.py'}:handle_request"
# The leak planted in leak_unit.py: allocated in open_session(), held by the global SESSION_LOG.
KNOWN_LEAK_FUNCTION, KNOWN_LEAK_HOLDER = "open_session", "SESSION_LOG"
DEMO_UNIT = f"{BENCH_DIR.parent / 'examples' / 'demo_service.py'}:handle_request"
LIMIT_S = 5.0
BAR_TEXT = f"a verdict with allocation site and path in < {LIMIT_S:g} s"
LEAKS_FOUND_EXIT = 1


@dataclass(frozen=True)
class LeakRun:
    target: str
    run: JsonRun

    @property
    def leaks(self) -> list[dict]:
        return list(self.run.data.get("leaks", [])) if isinstance(self.run.data, dict) else []

    def reports_leak(self, function: str, holder: str) -> bool:
        """A leak allocated in `function` (somewhere on its stack) and retained via `holder`."""
        return any(
            any(frame.get("function") == function for frame in leak.get("allocated_at") or [])
            and holder in str(leak.get("retained_by") or "")
            for leak in self.leaks
        )


def leak_targets() -> list[str]:
    """Our own unit with a known leak, plus the bundled demo service once it exists."""
    demo_file = Path(DEMO_UNIT.rsplit(":", 1)[0])
    return [OWN_UNIT, DEMO_UNIT] if demo_file.exists() else [OWN_UNIT]


def run_leak_check(target: str, iterations: int, timeout_s: float) -> LeakRun:
    command = [
        sys.executable,
        "-m",
        "memhound",
        "leaks",
        target,
        "--iterations",
        str(iterations),
        "--json",
    ]
    return LeakRun(target, run_json(command, timeout_s, ok_codes=(0, LEAKS_FOUND_EXIT)))


def leaks_section(iterations: int, timeout_s: float, memhound_missing: str | None) -> SectionReport:
    if memhound_missing is not None:
        bar = BarResult(
            _bar_label(iterations), BAR_TEXT, f"memhound {memhound_missing}", Verdict.NOT_MEASURED
        )
        return SectionReport(
            TITLE, f"`memhound leaks` not run: memhound {memhound_missing}.", [bar]
        )
    runs = [run_leak_check(target, iterations, timeout_s) for target in leak_targets()]
    intro = (
        f"`python -m memhound leaks TARGET --iterations {iterations} --json OUT`, "
        f"default warm-up, wall time of the whole process (one run each)."
    )
    return SectionReport(
        TITLE,
        intro + "\n\n" + _leaks_table(runs, iterations),
        [leak_check_bar(runs[0], iterations)],
    )


def _display_target(target: str) -> str:
    path, _, function = target.rpartition(":")
    try:
        return f"{Path(path).relative_to(BENCH_DIR.parent)}:{function}"
    except ValueError:
        return target


def _leaks_table(runs: list[LeakRun], iterations: int) -> str:
    rows = [[_display_target(r.target), str(iterations), *_verdict_cells(r)] for r in runs]
    header = [
        "unit",
        "iterations",
        "wall time",
        "leaks found",
        "first leak: kinds, type",
        "allocated at",
        "retained by",
    ]
    return table(header, rows)


def _verdict_cells(leak_run: LeakRun) -> list[str]:
    run = leak_run.run
    if run.error is not None:
        return [run.error, "-", "-", "-", "-"]
    if not leak_run.leaks:
        return [format_seconds(run.seconds), "0", "-", "-", "-"]
    first = leak_run.leaks[0]
    kinds = ", ".join(first.get("kinds", [])) or "none"
    return [
        format_seconds(run.seconds),
        str(len(leak_run.leaks)),
        f"{kinds}; {first.get('type', '?')}",
        _site_text(first.get("allocated_at") or []),
        f"`{first.get('retained_by') or '-'}`",
    ]


def _site_text(frames: list[dict]) -> str:
    """The innermost frame as `file.py:line function`."""
    if not frames:
        return "-"
    frame = frames[0]
    return f"{Path(str(frame.get('file', '?'))).name}:{frame.get('line', '?')} " + str(
        frame.get("function", "")
    )


def _bar_label(iterations: int) -> str:
    return f"leak check of benchmarks/leak_unit.py:handle_request, {iterations} iterations"


def leak_check_bar(own: LeakRun, iterations: int) -> BarResult:
    label = _bar_label(iterations)
    if own.run.error is not None:
        return BarResult(label, BAR_TEXT, own.run.error, Verdict.NOT_MEASURED)
    seconds = format_seconds(own.run.seconds)
    if not own.reports_leak(KNOWN_LEAK_FUNCTION, KNOWN_LEAK_HOLDER):
        missed = (
            f"{seconds}, but the planted leak ({KNOWN_LEAK_FUNCTION}() -> {KNOWN_LEAK_HOLDER}) "
            "was not reported with its allocation site and path"
        )
        return BarResult(label, BAR_TEXT, missed, Verdict.NOT_MET)
    verdict = Verdict.MET if own.run.seconds < LIMIT_S else Verdict.NOT_MET
    found = f"{seconds}, planted leak found with allocation site and path"
    return BarResult(label, BAR_TEXT, found, verdict)
