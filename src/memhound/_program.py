"""Run a target program the way `python` would: a script path, `-m module` or `-c code`.

Shared by the commands that observe a whole program (`memhound run`, `memhound heap`).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import runpy
import sys
from collections.abc import Callable
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


def add_program_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds `(script.py | -m module | -c code) [args...]` to a subcommand parser."""
    parser.add_argument(
        "-m", dest="module", metavar="MODULE", help="run a library module as a script"
    )
    parser.add_argument(
        "-c", dest="code", metavar="CODE", help="run a program passed in as a string"
    )
    parser.add_argument("script", nargs="?", help="the Python script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the program")


def program_from_args(args: argparse.Namespace) -> Program:
    chosen = [x for x in (args.module, args.code, args.script) if x is not None]
    if args.module is not None and args.code is not None:
        raise UsageError("give either -m MODULE or -c CODE, not both")
    rest = list(args.args)
    if args.module is not None or args.code is not None:
        # With -m/-c, a positional that argparse took as the script is the program's first argument.
        if args.script is not None:
            rest.insert(0, args.script)
        return Program(None, args.module, args.code, rest)
    if not chosen:
        raise UsageError("nothing to run: give a script, -m MODULE or -c CODE")
    return Program(args.script, None, None, rest)


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

    def execute() -> None:
        if program.module is not None:
            runpy.run_module(program.module, run_name="__main__", alter_sys=True)
        elif program.code is not None:
            namespace = {"__name__": "__main__", "__builtins__": __builtins__}
            exec(compile(program.code, "<string>", "exec"), namespace)  # noqa: S102 (python -c)
        else:
            runpy.run_path(program.script or "", run_name="__main__")

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


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
