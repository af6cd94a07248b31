"""`%%memhound_leaks`: the cell as a unit of work for memhound's leak check (check_leaks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any

from memhound._jupyter._cells import CellCode, cell_label, where
from memhound._jupyter._findings import render_html, render_text
from memhound._jupyter._output import Rendered
from memhound._jupyter._trace import refuse_if_tracing
from memhound._leaks._defaults import (
    DEFAULT_BUDGET_S,
    DEFAULT_ITERATIONS,
    DEFAULT_MIN_BYTES,
    DEFAULT_WARMUP,
)
from memhound._leaks._model import LeakReport
from memhound._leaks._target import unit_from_callable
from memhound.report import source_line


@dataclass(frozen=True)
class LeakOptions:
    iterations: int = DEFAULT_ITERATIONS
    warmup: int = DEFAULT_WARMUP
    min_bytes: float = DEFAULT_MIN_BYTES
    budget: float = DEFAULT_BUDGET_S


def check_cell(
    shell: Any, code: CellCode, options: LeakOptions, show: Callable[[Rendered], None]
) -> LeakReport:
    """Repeats the cell (warm-up, then traced iterations) and shows what leaks. An exception of
    the cell goes on unchanged; CannotRun before any run when memhound is tracing already."""
    from memhound._leaks._detect import check_leaks  # the detector loads on first use

    __tracebackhide__ = True
    refuse_if_tracing()
    name = cell_label(shell, code.filename) or "cell"
    unit = unit_from_callable(partial(code.run_all, shell), name=name)
    try:
        report = check_leaks(
            unit,
            iterations=options.iterations,
            warmup=options.warmup,
            min_bytes=options.min_bytes,
            budget=options.budget,
        )
    except BaseException as exc:  # noqa: BLE001 (the cell's own, raised again)
        raise exc.with_traceback(_from_the_cell(exc.__traceback__, code.filename))
    show(render_report(shell, report))
    return report


def _from_the_cell(traceback: TracebackType | None, filename: str) -> TracebackType | None:
    """The traceback from the cell's frame on: the leak checker's loop is no part of it."""
    entry = traceback
    while entry is not None and entry.tb_frame.f_code.co_filename != filename:
        entry = entry.tb_next
    return entry or traceback


def render_report(shell: Any, report: LeakReport) -> Rendered:
    name = partial(where, shell)
    return Rendered(render_text(report, name, source_line), render_html(report, name, source_line))
