"""A cell's code, compiled the way IPython runs a cell, and the names of its frames.

The body of a `%%memhound` cell is compiled under the cell's own number, with a blank first line
in place of the magic's line, so that a site reads `Cell In[3], line 2` for the line the user
sees as line 2. A last expression is evaluated apart, so that its value is the cell's result.
"""

from __future__ import annotations

import ast
import inspect
import os
import sys
from dataclasses import dataclass
from types import CodeType
from typing import Any

from memhound._errors import MemhoundError
from memhound.report import FrameRow
from memhound.report._format import short_path


@dataclass(frozen=True)
class CellCode:
    """The compiled statements of a cell, and its last expression (None when it ends otherwise)."""

    filename: str
    statements: CodeType
    last_expression: CodeType | None

    def run(self, shell: Any) -> Any:
        """Runs the cell in the shell's namespace; returns the value of its last expression."""
        __tracebackhide__ = True  # IPython's tracebacks then start at the cell
        exec(self.statements, shell.user_global_ns, shell.user_ns)  # noqa: S102 (the user's cell)
        if self.last_expression is None:
            return None
        return eval(self.last_expression, shell.user_global_ns, shell.user_ns)

    def run_all(self, shell: Any) -> None:
        """Runs the whole cell, the last expression as a statement (a unit of work)."""
        __tracebackhide__ = True
        self.run(shell)


class CannotRun(MemhoundError):
    """The magic cannot run this cell: memhound is tracing already, the capture file is
    unwritable, or the cell awaits at top level."""


def compile_cell(shell: Any, cell: str) -> CellCode:
    """The cell's body (what follows the magic's line), with IPython's syntax (`!ls`, `%time`)
    turned into Python; a SyntaxError is the cell's own, as without the magic."""
    __tracebackhide__ = True  # a SyntaxError's traceback shows the cell, not this
    # IPython drops a cell's leading blank lines: put them back, after one for the magic's line
    body = shell.transform_cell(cell)
    source = "\n" * (1 + _leading_blank_lines(cell) - _leading_blank_lines(body)) + body
    filename = _cell_filename(shell, source)
    # the flags of the `from __future__` imports of earlier cells; await allowed, then refused
    flags = shell.compile.flags | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    tree = compile(source, filename, "exec", flags | ast.PyCF_ONLY_AST, dont_inherit=True)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    statements = compile(tree, filename, "exec", flags, dont_inherit=True)
    expression = None if last is None else compile(last, filename, "eval", flags, dont_inherit=True)
    if any(code.co_flags & inspect.CO_COROUTINE for code in (statements, expression) if code):
        raise CannotRun("a cell with top-level await cannot be traced")
    return CellCode(filename, statements, expression)


def _leading_blank_lines(text: str) -> int:
    lines = text.splitlines()
    return next((i for i, line in enumerate(lines) if line.strip()), len(lines))


def _cell_filename(shell: Any, source: str) -> str:
    """A filename registered with IPython's compiler under the running cell's number, whose
    source linecache can read (tracebacks and reports show its lines)."""
    return shell.compile.cache(source, running_cell_number(shell), raw_code=source)


def running_cell_number(shell: Any) -> int:
    """The number of the cell running the magic: that of the innermost calling frame that runs
    a cell's code. (shell.execution_count is already the next cell's, when history is kept.)"""
    numbers = getattr(shell.compile, "_filename_map", {})
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename in numbers:
            return numbers[frame.f_code.co_filename]
        frame = frame.f_back
    return shell.execution_count


def cell_label(shell: Any, filename: str) -> str | None:
    """'Cell In[3]' for a cell's filename (IPython's name for it), None for a real file."""
    format_code_name = getattr(shell.compile, "format_code_name", None)
    named = format_code_name(filename) if format_code_name is not None else None
    if named is None:
        return None
    kind, name = named
    return f"{kind} {name}"


def where(shell: Any, frame: FrameRow) -> str:
    """A frame as a person reads it: 'Cell In[3], line 2' or 'function  path/to/file.py:12'."""
    line = frame["line"] if frame["line"] is not None else "?"
    label = cell_label(shell, frame["file"])
    if label is not None:
        inside = "" if frame["function"] == "<module>" else f" in {frame['function']}()"
        return f"{label}, line {line}{inside}"
    return f"{frame['function']}  {_importable_path(frame['file'])}:{line}"


def _importable_path(file: str) -> str:
    """A file under a folder of sys.path as its import path shows it (json/encoder.py, not
    /usr/lib/python3.11/json/encoder.py); others relative to the current folder."""
    roots = [os.path.join(os.path.abspath(entry), "") for entry in sys.path if entry]
    root = max((root for root in roots if file.startswith(root)), key=len, default=None)
    return file[len(root) :] if root else short_path(file)
