"""Run a target program the way `python` would: a script path, `-m module` or `-c code`.

Shared by the commands that observe a whole program (`memhound run`, `memhound heap`).
"""

from __future__ import annotations

import builtins
import importlib.util
import io
import os
import runpy
import sys
from collections.abc import Callable, Collection, Sequence
from types import CodeType, ModuleType
from typing import NamedTuple

from memhound._errors import UsageError


class Program(NamedTuple):
    """What to run: exactly one of script, module or code, plus the program's own arguments.
    (A NamedTuple, not a dataclass: `dataclasses` would add ~8 ms to every start-up.)"""

    script: str | None
    module: str | None
    code: str | None
    args: list[str]

    @property
    def argv(self) -> list[str]:
        """sys.argv as the program sees it under plain `python`."""
        if self.module:
            return [self.module, *self.args]
        if self.code is not None:
            return ["-c", *self.args]
        return [self.script or "", *self.args]

    def describe(self) -> str:
        if self.module:
            return f"-m {self.module}"
        if self.code is not None:
            return "-c <code>"
        return self.script or ""


def split_command_line(
    words: Sequence[str], valued: Collection[str]
) -> tuple[list[str], Program | None]:
    """Splits `[options] (script.py | -m module | -c code) [args...]` the way python does.

    The command's own options come first; those named in `valued` take the next word as their
    value (unless written --name=value). The first word that is not an option, or -m/-c with its
    value (also written -mMODULE, -cCODE), starts the program, and every word after it is the
    program's own. Returns the own options and the program, or None when none was given.
    """
    options: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word[:2] in ("-m", "-c"):
            attached = len(word) > 2
            value = word[2:] if attached else _value_of(words, index)
            args = list(words[index + (1 if attached else 2) :])
            if word[:2] == "-m":
                return options, Program(None, value, None, args)
            return options, Program(None, None, value, args)
        if word == "--":
            rest = words[index + 1 :]
            return options, (Program(rest[0], None, None, list(rest[1:])) if rest else None)
        if not word.startswith("-") or word == "-":
            return options, Program(word, None, None, list(words[index + 1 :]))
        options.append(word)
        if word in valued and index + 1 < len(words):
            options.append(words[index + 1])
            index += 1
        index += 1
    return options, None


def _value_of(words: Sequence[str], index: int) -> str:
    if index + 1 >= len(words):
        name = "MODULE" if words[index] == "-m" else "CODE"
        raise UsageError(f"{words[index]} needs a {name}")
    return words[index + 1]


def require_program(program: Program | None) -> Program:
    if program is None:
        raise UsageError("nothing to run: give a script, -m MODULE or -c CODE")
    return program


def check_program(program: Program) -> None:
    """Fails early, with one line, on a target that cannot run (before any tracing starts)."""
    if program.script is not None:
        if not os.path.exists(program.script):
            raise UsageError(f"can't open file '{program.script}': no such file")
        if not os.path.isfile(program.script) and not os.path.isdir(program.script):
            raise UsageError(f"can't run '{program.script}': not a file")
    elif program.module is not None:
        try:
            spec = importlib.util.find_spec(program.module)
        except (ImportError, ValueError) as exc:
            raise UsageError(f"no module named '{program.module}' ({exc})") from None
        if spec is None:
            raise UsageError(f"no module named '{program.module}'")


def run_program(
    program: Program, around: Callable[[Callable[[], None]], None] | None = None
) -> int:
    """Runs the program as `__main__` and returns its exit code, like the interpreter would.

    `around`, when given, receives the function that runs the program and must call it: it is how
    a command wraps the program's own execution (for example in a tracer) without wrapping its own.
    """
    check_program(program)
    saved_argv, saved_path0 = sys.argv[:], sys.path[0] if sys.path else None
    sys.argv = program.argv
    if program.script is not None:
        sys.path.insert(0, os.path.dirname(os.path.abspath(program.script)))
    elif program.module is not None:
        sys.path.insert(0, os.getcwd())
    else:
        sys.path.insert(0, "")  # -c: the current directory, as python puts it

    def execute() -> None:
        if program.module is not None:
            runpy.run_module(program.module, run_name="__main__", alter_sys=True)
        elif program.code is not None:
            _run_as_main(compile(program.code, "<string>", "exec"), None)
        else:
            _run_script(program.script or "")

    exit_code = 0
    try:
        (around or (lambda body: body()))(execute)
    except SystemExit as exc:
        exit_code = _exit_code(exc.code)
    except BaseException:  # noqa: BLE001 (the program's own uncaught exception, printed like python)
        import traceback

        traceback.print_exc()
        exit_code = 1
    finally:
        sys.argv = saved_argv
        if sys.path and saved_path0 is not None and sys.path[0] != saved_path0:
            sys.path.pop(0)
    return exit_code


def _run_script(path: str) -> None:
    """A script file runs as python runs it. A directory or zip application (or a compiled file)
    goes through runpy, which imports pkgutil: 1.4 ms more of start-up for every script."""
    if os.path.isfile(path):
        with io.open_code(path) as file:
            source = file.read()
        try:
            code = compile(source, path, "exec")
        except (SyntaxError, ValueError):
            code = None  # not source text: runpy tells a zip application or .pyc from an error
        if code is not None:
            return _run_as_main(code, path)
    runpy.run_path(path, run_name="__main__")


def _run_as_main(code: CodeType, path: str | None) -> None:
    """Runs code as python runs a script or -c code: in a new module __main__ that stands in
    sys.modules meanwhile (pickle and multiprocessing look the program's classes up there)."""
    main = ModuleType("__main__")
    main.__builtins__ = builtins  # type: ignore[attr-defined]
    if path is not None:
        main.__file__ = path
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = main
    try:
        exec(code, vars(main))  # noqa: S102 (the program itself)
    finally:
        sys.modules["__main__"] = saved


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
