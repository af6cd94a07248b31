"""`memhound lines`: run a program and measure chosen functions line by line."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence

from memhound import _core
from memhound._errors import UsageError
from memhound._lines import _trace
from memhound._lines._engine import ALL_THREADS, OWN_THREAD
from memhound._lines._report import render, report
from memhound._program import (
    Program,
    check_program,
    require_program,
    run_program,
    split_command_line,
)

SUMMARY = "run a Python program and measure chosen functions line by line"

DESCRIPTION = """\
Runs a Python program (a script, -m module or -c code, with its arguments) as `python` would and
measures each function named by --function line by line: the bytes each line allocated, freed and
kept (net) while it ran, callees included, the peak the function's memory reached on it and how
often it ran, with the source beside it. Measured by memhound's allocator hooks, not RSS.
NAME is a function's qualified name in the program's own file (build, Index.add,
outer.<locals>.inner, or just the last part of it), or MODULE:NAME for a function of another
module. The program's exit code is passed through.

options go before the program:
  memhound lines --function build_index app.py --input data.csv
  memhound lines --function load --function mypkg.io:parse -m mypkg.cli
  memhound lines --json -o lines.json --function main script.py"""

_VALUED = ("--function", "--threads", "-o", "--output")


def own_parser() -> argparse.ArgumentParser:
    from memhound.cli._parser import CommandParser

    parser = CommandParser(
        prog="memhound lines",
        usage="%(prog)s [-h] --function NAME [--function NAME ...] [--threads {own,all}] [--json] "
        "[-o FILE] (script.py | -m MODULE | -c CODE) [args ...]",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--function",
        action="append",
        required=True,
        metavar="NAME",
        help="a function to measure (repeat for more)",
    )
    parser.add_argument(
        "--threads",
        choices=(OWN_THREAD, ALL_THREADS),
        default=OWN_THREAD,
        help="count the allocations of the thread running the function (own, the default) or of "
        "every thread while it runs (all)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the result to FILE, not stdout"
    )
    return parser


def main(words: Sequence[str]) -> int:
    own, program = split_command_line(words, _VALUED)
    args = own_parser().parse_args(own)
    program = require_program(program)
    check_program(program)
    targets = [(f, q) for name in args.function for f, q in resolve(name, program)]
    return run(program, targets, args.threads, args.json, args.output)


def run(
    program: Program,
    targets: list[tuple[str, str]],
    threads: str,
    as_json: bool,
    output: str | None,
) -> int:
    named = [_trace.register_name(filename, qualname, threads) for filename, qualname in targets]
    code = run_program(program, around=_measured)
    data = report([stats for target in named for stats in target.matched])
    for target in named:
        if not target.matched:
            print(f"memhound: {target.qualname} ({target.filename}) never ran", file=sys.stderr)
    text = json.dumps(data, indent=2) + "\n" if as_json else render(data)
    if output:
        with open(output, "w", encoding="utf-8") as file:
            file.write(text)
    else:
        sys.stdout.write(text)
    return code


def _measured(body: Callable[[], None]) -> None:
    """Counting and tracing around the program's own code: every thread it starts is traced too."""
    _core.meter_start()
    _trace.enable_program()
    try:
        body()
    finally:
        _trace.disable_program()
        _core.meter_stop()


def resolve(name: str, program: Program) -> list[tuple[str, str]]:
    """(file, qualified name) of each function NAME names; one clear error when there is none."""
    module, colon, qualname = name.rpartition(":")
    if colon:
        filename = _module_file(module)
    elif program.script is not None:
        filename, qualname = program.script, name
    elif program.module is not None:
        filename, qualname = _module_file(program.module), name
    else:
        raise UsageError("with -c CODE, name functions as MODULE:NAME")
    found = _functions_in(filename)
    exact = [q for q in found if q == qualname]
    matches = exact or [q for q in found if q.rsplit(".", 1)[-1] == qualname]
    if not matches:
        where = f"module {module}" if colon else filename
        raise UsageError(f"no function named {qualname!r} in {where}")
    return [(filename, q) for q in matches]


def _module_file(module: str) -> str:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        raise UsageError(f"no module named '{module}' ({exc})") from None
    if spec is None:
        raise UsageError(f"no module named '{module}'")
    if not spec.origin or not spec.origin.endswith(".py"):
        raise UsageError(f"no Python source for module '{module}'")
    return spec.origin


def _functions_in(filename: str) -> list[str]:
    """The qualified names of the functions a source file defines, as code objects name them."""
    try:
        with open(filename, "rb") as file:
            tree = ast.parse(file.read(), filename)
    except (OSError, SyntaxError, ValueError) as exc:
        raise UsageError(f"cannot read the functions of {filename}: {exc}") from None
    names: list[str] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.append(prefix + child.name)
                visit(child, f"{prefix}{child.name}.<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return names
