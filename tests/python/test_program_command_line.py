"""The command line of the commands that run a program (`memhound run`, `memhound heap`): their
own options first, then the program as python takes it, then the program's own arguments."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from cli_contract import run_memhound

from memhound._errors import UsageError
from memhound._program import Program, require_program, split_command_line
from memhound.cli.run import RunOptions, parse_options

RUN_VALUED = ("-o", "--output", "--sample-bytes")


@pytest.mark.parametrize(
    "words, own, program",
    [
        (["app.py", "--port", "8"], [], Program("app.py", None, None, ["--port", "8"])),
        (
            ["-o", "x.bin", "app.py", "-o", "y"],
            ["-o", "x.bin"],
            Program("app.py", None, None, ["-o", "y"]),
        ),
        (
            ["--output=x.bin", "-m", "pkg.mod", "-c", "1"],
            ["--output=x.bin"],
            Program(None, "pkg.mod", None, ["-c", "1"]),
        ),
        (["-mpkg", "a"], [], Program(None, "pkg", None, ["a"])),
        (
            ["--follow-fork", "-c", "print(1)", "x"],
            ["--follow-fork"],
            Program(None, None, "print(1)", ["x"]),
        ),
        (["-cpass"], [], Program(None, None, "pass", [])),
        (["-c", ""], [], Program(None, None, "", [])),
        (
            ["--sample-bytes", "-5", "a.py"],
            ["--sample-bytes", "-5"],
            Program("a.py", None, None, []),
        ),
        (["--", "-weird.py", "-o"], [], Program("-weird.py", None, None, ["-o"])),
        (["-o", "x.bin"], ["-o", "x.bin"], None),
        (["--help"], ["--help"], None),
    ],
)
def test_the_program_starts_at_the_first_word_that_is_not_an_own_option(
    words: list[str], own: list[str], program: Program | None
) -> None:
    assert split_command_line(words, RUN_VALUED) == (own, program)


def test_minus_m_or_c_without_its_value_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="-m needs a MODULE"):
        split_command_line(["-m"], RUN_VALUED)
    with pytest.raises(UsageError, match="nothing to run"):
        require_program(split_command_line(["-o", "x.bin"], RUN_VALUED)[1])


@pytest.mark.parametrize(
    "words, expected",
    [
        ([], RunOptions()),
        (["-o", "a.bin", "--sample-bytes", "4096"], RunOptions("a.bin", 4096)),
        (["-oa.bin", "--sample-bytes=64", "--follow-fork"], RunOptions("a.bin", 64, True)),
        (["--output=a=b.bin"], RunOptions("a=b.bin")),
        (["-h"], RunOptions(help=True)),
    ],
)
def test_run_options(words: list[str], expected: RunOptions) -> None:
    assert parse_options(words) == expected


@pytest.mark.parametrize(
    "words, message",
    [
        (["--bogus"], "unknown option '--bogus'"),
        (["-o"], "option -o needs a value"),
        (["--sample-bytes", "0"], "got '0'"),
        (["--sample-bytes=1.5"], "got '1.5'"),
        (["--follow-fork=yes"], "--follow-fork takes no value"),
    ],
)
def test_bad_run_options_are_usage_errors(words: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_options(words)


def test_run_help_shows_the_options_and_exits_0() -> None:
    result = run_memhound("run", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: memhound run ")
    for option in ("--output FILE", "--sample-bytes N", "--follow-fork", "-m MODULE", "-c CODE"):
        assert option in result.stdout


def test_overview_help_lists_every_command() -> None:
    result = run_memhound("--help")
    assert result.returncode == 0
    for command in ("run", "report", "flamegraph", "stats", "heap", "leaks", "runtime", "unittest"):
        # a long name has its help on the next line
        assert re.search(rf"^    {command}( |$)", result.stdout, re.MULTILINE), command


def test_run_starts_without_argparse() -> None:
    """argparse (with gettext and locale) adds about 9 ms to every traced program's start-up."""
    probe = (
        "import sys; before = set(sys.modules); import memhound.cli as c; "
        "code = c.main(['run', '-o', sys.argv[1], '-c', 'pass']); "
        "print(code, sorted({'argparse', 'gettext', 'locale'} & (set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "/dev/null"], capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "0 []", result.stderr


@pytest.mark.parametrize("path", ["out/app.bin", "with space.bin", "it's.bin", "ünï.bin", ""])
def test_the_report_hint_quotes_the_capture_path_for_a_shell(path: str) -> None:
    import shlex

    from memhound.cli.run import _shell_word

    assert shlex.split(_shell_word(path)) == [path]
