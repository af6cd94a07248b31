"""Whose code holds a leak: the program's own, or a library's.

The program's code is every file outside the standard library, site-packages (dist-packages)
and memhound itself: the script, the project's packages (installed editable or run from the
checkout), its tests, code typed at a prompt. A leak is held by the program when an object on
its retention path belongs to that code (its module, a class or function defined there, an
instance of such a class, a frame running it); else by a library: a library's registry that
holds only library objects (the stdlib's caches, a framework's internals) is the library's.
A leak with no object on its path to judge by (native memory, descriptors, garbage) is the
program's when its allocation stack goes through the program's code.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
import types
from collections.abc import Iterable, Sequence
from functools import lru_cache

from memhound._leaks._model import LIBRARY, PROGRAM, Frame, Holder
from memhound._leaks._probe import PACKAGE_DIR

_INSTALLED_MARKERS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    roots.add(PACKAGE_DIR)
    return tuple(os.path.realpath(root) + os.sep for root in roots)


_LIBRARY_ROOTS = _library_roots()
_STDLIB = sysconfig.get_paths()["stdlib"] + os.sep
_SITE_PACKAGES = tuple({sysconfig.get_paths()[key] + os.sep for key in ("purelib", "platlib")})


def is_stdlib_file(file: str) -> bool:
    """A file of the standard library (site-packages, which lives inside it, excluded)."""
    return file.startswith(_STDLIB) and not file.startswith(_SITE_PACKAGES)


@lru_cache(maxsize=4096)
def is_program_file(file: str) -> bool:
    """True for a file of the program's own code (see the module docstring)."""
    if not file or file.startswith(("<frozen", "<built-in")):
        return False
    if file.startswith("<"):
        return True  # <string>, <stdin>, a notebook cell
    path = os.path.realpath(file)
    if any(marker in path for marker in _INSTALLED_MARKERS):
        return False
    return not path.startswith(_LIBRARY_ROOTS)


def holder_of(path_objects: Sequence[object], frames: Sequence[Frame]) -> Holder:
    """The side holding a leak, from the objects on its path (root first), else its frames."""
    library_module: str | None = None
    for obj in path_objects:
        found = _code_of(obj)
        if found is None:
            continue
        module, file = found
        if is_program_file(file):
            return Holder(PROGRAM, module)
        library_module = library_module or module
    if library_module is not None:
        return Holder(LIBRARY, library_module)
    return holder_of_frames(frames)


def holder_of_frames(frames: Iterable[Frame]) -> Holder:
    program = next((frame for frame in frames if is_program_file(frame.file)), None)
    if program is not None:
        return Holder(PROGRAM, _module_of_file(program.file))
    return Holder(LIBRARY, None)


def _code_of(obj: object) -> tuple[str, str] | None:
    """(module name, file) of the code an object belongs to; None for plain data (a dict, a
    list, a str: their type is a builtin and says nothing about who made them)."""
    if isinstance(obj, types.ModuleType):
        file = getattr(obj, "__file__", None)
        return (obj.__name__, file) if isinstance(file, str) else None
    if isinstance(obj, types.MethodType):
        return _code_of(obj.__func__)
    if isinstance(obj, types.FunctionType):
        return (str(obj.__module__), obj.__code__.co_filename)
    if isinstance(obj, types.FrameType):
        return (str(obj.f_globals.get("__name__", "?")), obj.f_code.co_filename)
    cls = obj if isinstance(obj, type) else type(obj)
    return _code_of_class(cls)


def _code_of_class(cls: type) -> tuple[str, str] | None:
    module_name = getattr(cls, "__module__", None)
    if not isinstance(module_name, str) or module_name == "builtins":
        return None
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    return (module_name, file) if isinstance(file, str) else None


def _module_of_file(file: str) -> str | None:
    for name, module in list(sys.modules.items()):
        if getattr(module, "__file__", None) == file:
            return name
    return os.path.splitext(os.path.basename(file))[0] if not file.startswith("<") else None
