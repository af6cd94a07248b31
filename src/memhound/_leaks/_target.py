"""The unit of work: a TARGET string (`path/to/file.py:function` or `package.module:function`)
resolved to a function, and the calling convention (the iteration number or nothing).

A file target is imported as a module registered in sys.modules under its file name, with its
folder first on sys.path (as `python file.py` would do), so that its globals are module
globals: the heap snapshot roots retention paths at modules and renders them `module.NAME[...]`.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from memhound._errors import UsageError


@dataclass(frozen=True)
class UnitOfWork:
    """A function to repeat, with how to call it: `unit(i)` runs iteration i.

    `report_errors`: an exception of the function becomes a one-line UsageError (the command
    line's contract); otherwise it propagates unchanged (a test must fail with its own error).
    """

    name: str
    function: Callable[..., Any]
    takes_iteration: bool
    is_async: bool
    report_errors: bool = False

    def __call__(self, iteration: int) -> None:
        try:
            self._call(iteration)
        except Exception as exc:
            if not self.report_errors:
                raise
            raise UsageError(f"{self.name} raised {_describe(exc)}") from None

    def _call(self, iteration: int) -> None:
        args = (iteration,) if self.takes_iteration else ()
        result = self.function(*args)
        if self.is_async:
            import asyncio  # here, not at module level: it costs every `memhound` command 40 ms

            asyncio.run(result)


def unit_from_callable(
    function: Callable[..., Any], name: str | None = None, report_errors: bool = False
) -> UnitOfWork:
    """Wraps a callable: it gets the iteration number if it requires one positional parameter."""
    if not callable(function):
        raise UsageError(f"{name or function!r} is not callable")
    label = name or getattr(function, "__qualname__", None) or repr(function)
    return UnitOfWork(
        name=label,
        function=function,
        takes_iteration=_required_positionals(function, label) == 1,
        is_async=inspect.iscoroutinefunction(function),
        report_errors=report_errors,
    )


def _required_positionals(function: Callable[..., Any], label: str) -> int:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return 0  # a builtin without a signature: call it with no argument
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [
        p for p in signature.parameters.values() if p.kind in kinds and p.default is p.empty
    ]
    keyword_only = [
        p
        for p in signature.parameters.values()
        if p.kind == inspect.Parameter.KEYWORD_ONLY and p.default is p.empty
    ]
    if len(required) > 1 or keyword_only:
        raise UsageError(
            f"{label} must take no argument or one (the iteration number), not {signature}"
        )
    return len(required)


def resolve_target(target: str) -> UnitOfWork:
    """`file.py:function` or `package.module:function` -> the unit of work; UsageError if bad."""
    where, sep, attribute = target.rpartition(":")
    if not sep or not where or not attribute:
        raise UsageError(
            f"bad target '{target}': expected path/to/file.py:function or package.module:function"
        )
    module = _load_file(where) if _looks_like_file(where) else _import_module(where)
    function = _get_attribute(module, attribute, target)
    return unit_from_callable(function, name=target, report_errors=True)


def _looks_like_file(where: str) -> bool:
    return where.endswith(".py") or os.sep in where or os.path.isfile(where)


def _load_file(path: str) -> ModuleType:
    if not os.path.isfile(path):
        raise UsageError(f"can't open file '{path}': no such file")
    path = os.path.abspath(path)
    name = _module_name_for(path)
    if name in sys.modules:
        return sys.modules[name]  # imported already (by an earlier target of the same file)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"can't import '{path}': not a Python source file")
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of the user's import
        del sys.modules[name]
        raise UsageError(f"importing '{path}' failed: {_describe(exc)}") from None
    return module


def _module_name_for(path: str) -> str:
    """The file's stem, unless another module already has that name (then a unique variant)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    name, suffix = stem, 1
    while name in sys.modules and getattr(sys.modules[name], "__file__", None) != path:
        suffix += 1
        name = f"{stem}_{suffix}"
    return name


def _import_module(name: str) -> ModuleType:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise UsageError(f"no module named '{name}'") from None
        raise UsageError(f"importing '{name}' failed: {_describe(exc)}") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of the user's import
        raise UsageError(f"importing '{name}' failed: {_describe(exc)}") from None


def _get_attribute(module: ModuleType, dotted: str, target: str) -> Callable[..., Any]:
    value: Any = module
    for part in dotted.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise UsageError(f"bad target '{target}': no attribute '{part}'") from None
    return value


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
