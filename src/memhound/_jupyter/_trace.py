"""`%%memhound`: run a cell under memhound.Tracker and render what it allocated."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from memhound._capture import read_capture
from memhound._errors import UsageError
from memhound._jupyter._cells import CannotRun, CellCode, cell_label, where
from memhound._jupyter._output import Rendered, embedded_page
from memhound._jupyter._sites import SitesView, render_html, render_text
from memhound._leaks._origin import is_stdlib_file
from memhound._tracker import Tracker
from memhound.report import FrameRow, capture_info, source_line, trim_rows
from memhound.report._frames import PACKAGE_DIR
from memhound.report.html import render_capture_html

# The packages of IPython and the Jupyter kernel that run beside a cell, in the kernel's threads.
SHELL_PACKAGES = ("IPython", "ipykernel", "traitlets", "jupyter_client", "zmq", "tornado", "comm")
# How many of their rows can push the cell's own out of the top N.
SHELL_ROWS = 20


@dataclass(frozen=True)
class TraceOptions:
    view: str = "peak"
    by: str = "line"
    limit: int = 10  # top sites shown, 0 for all
    sample_bytes: int | None = None
    native: bool = False
    output: str | None = None  # keep the capture there; None: a temporary file
    flame_graph: bool = True  # embed the HTML report (flame graph) under the table
    command: str = "%%memhound"  # stored in the capture as its command line


def trace_cell(
    shell: Any, code: CellCode, options: TraceOptions, show: Callable[[Rendered], None]
) -> Any:
    """Runs the cell traced, shows its report (also when the cell raised, before the exception
    goes on) and returns the cell's result; CannotRun before the cell runs when tracing
    cannot start."""
    __tracebackhide__ = True
    with _capture_path(options.output) as path:
        tracker = _start(path, options)
        try:
            return code.run(shell)
        finally:
            tracker.stop()
            show(render_capture(shell, path, options))


def _start(path: str, options: TraceOptions) -> Tracker:
    tracker = Tracker(path, options.sample_bytes, native=options.native, argv=[options.command])
    try:
        return tracker.start()
    except UsageError as exc:
        raise CannotRun(str(exc)) from None


def refuse_if_tracing() -> None:
    """CannotRun when memhound is tracing already (the whole kernel under `memhound run`)."""
    from memhound import _core

    if _core.is_tracing():
        raise CannotRun(f"memhound is already tracing into {_core.tracing_path()}")


@contextmanager
def _capture_path(output: str | None) -> Iterator[str]:
    if output is not None:
        yield os.path.abspath(output)
        return
    with tempfile.TemporaryDirectory(prefix="memhound-cell-") as folder:
        yield os.path.join(folder, "cell.bin")


def render_capture(shell: Any, path: str, options: TraceOptions) -> Rendered:
    """The top sites of the capture (the cell's frames only, the magic's own sites left out)."""
    capture = read_capture(path)
    # a few more rows than shown, for those of the shell's own threads, left out
    asked = options.limit + SHELL_ROWS if options.limit else 0
    summary = capture.site_summary(options.view, options.by, asked)
    rows = [row for row in trim_rows(summary["sites"]) if not _shells_own(row["frames"])]
    summary["sites"] = rows[: options.limit] if options.limit else rows
    view = SitesView(
        summary=summary,
        view=options.view,
        by=options.by,
        info=capture_info(capture, path),
        where=partial(where, shell),
        source=source_line,
        kept_at=options.output,
    )
    fragment = render_html(view)
    if options.flame_graph:
        label = partial(_file_label, shell)
        document = render_capture_html(capture, options.view, path=options.output, file_label=label)
        fragment += embedded_page(document, f"memhound: {options.command}")
    return Rendered(render_text(view), fragment)


def _file_label(shell: Any, file: str) -> str:
    """'Cell In[3]' for a cell's file, the file itself otherwise."""
    return cell_label(shell, file) or file


def _shells_own(frames: list[FrameRow]) -> bool:
    """A site of the shell's own machinery while the cell ran (IPython's history thread, the
    kernel's I/O, memhound starting and stopping): no frame outside it and the stdlib."""
    return bool(frames) and all(_in_shell(frame["file"]) for frame in frames)


def _in_shell(file: str) -> bool:
    return (
        file.startswith((PACKAGE_DIR + os.sep, "<frozen "))
        or any(f"{os.sep}{package}{os.sep}" in file for package in SHELL_PACKAGES)
        or is_stdlib_file(file)
    )
