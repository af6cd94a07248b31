"""The test framework's own growth: what pytest, pluggy, unittest or memhound allocate while a
test is repeated (a session fixture's list of finalizers, the terminal's current line) is the
repetition's residue, not a leak of the code under test.

The rule reads only the allocation stack: a leak is residue when none of its frames (up to the
frame that repeats the test, where the stack is cut) belongs to code outside the frameworks and
the standard library. Anything the test, its fixtures, or a library under test allocates has
one of their frames on its stack.
"""

from __future__ import annotations

import dataclasses
import os
import unittest
from collections.abc import Iterable, Sequence
from types import ModuleType

import _pytest
import pluggy

import memhound
from memhound._leaks._model import Frame, Leak, LeakReport
from memhound._leaks._origin import is_stdlib_file


def _folder(module: ModuleType) -> str:
    return os.path.dirname(os.path.abspath(str(module.__file__))) + os.sep


def _optional_folders(names: Iterable[str]) -> list[str]:
    """Plugins that drive tests (xdist, execnet, pytest-asyncio, ...), where installed."""
    import importlib.util

    folders = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            folders.append(os.path.dirname(os.path.abspath(spec.origin)) + os.sep)
    return folders


FRAMEWORK_FOLDERS = (
    _folder(_pytest),
    _folder(pluggy),
    _folder(unittest),
    _folder(memhound),
    *_optional_folders(("xdist", "execnet", "pytest_asyncio", "anyio", "pytest_subtests")),
)


def is_framework_frame(frame: Frame) -> bool:
    file = frame.file
    if file.startswith(FRAMEWORK_FOLDERS):
        return True
    return is_stdlib_file(file) or file.startswith("<frozen ")


def is_residue_stack(frames: Sequence[Frame]) -> bool:
    """Allocated by the frameworks alone (an empty stack is memhound's own bookkeeping)."""
    return all(is_framework_frame(frame) for frame in frames)


def is_residue(leak: Leak) -> bool:
    return bool(leak.allocated_at) and is_residue_stack(leak.allocated_at)


def without_residue(report: LeakReport) -> LeakReport:
    """The report less the leaks that are the test framework's own growth."""
    kept = [leak for leak in report.leaks if not is_residue(leak)]
    if len(kept) == len(report.leaks):
        return report
    return dataclasses.replace(report, leaks=kept)
