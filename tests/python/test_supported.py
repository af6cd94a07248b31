"""The interpreter check: CPython 3.11-3.13 with the GIL, anything else refused with one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from memhound._supported import unsupported_reason


@pytest.mark.parametrize("minor", [11, 12, 13])
def test_supported_versions_pass(minor: int) -> None:
    assert unsupported_reason("cpython", (3, minor, 0), "") is None


@pytest.mark.parametrize(
    "implementation, version, abiflags, says",
    [
        ("cpython", (3, 10, 14), "", "this is cpython 3.10"),
        ("cpython", (3, 14, 0), "", "this is cpython 3.14"),
        ("pypy", (3, 11, 0), "", "this is pypy 3.11"),
        ("cpython", (3, 13, 0), "t", "free-threaded build of CPython (cpython 3.13t)"),
        ("cpython", (3, 13, 0), "td", "free-threaded"),
    ],
)
def test_other_interpreters_are_named(
    implementation: str, version: tuple[int, ...], abiflags: str, says: str
) -> None:
    reason = unsupported_reason(implementation, version, abiflags)
    assert reason is not None and says in reason
    assert "3.11, 3.12, 3.13" in reason


# The check reads sys.version_info when the package imports: pretend to be 3.14 before that.
PRETEND = "import sys\nsys.version_info = (3, 14, 0, 'final', 0)\n"


def test_import_on_an_unsupported_version_raises_before_the_core_loads() -> None:
    code = PRETEND + (
        "try:\n    import memhound\n"
        "except ImportError as exc:\n    print(exc)\n    print('memhound._core' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.splitlines() == [
        "memhound supports CPython 3.11, 3.12, 3.13; this is cpython 3.14",
        "False",
    ]


def test_cli_on_an_unsupported_version_says_one_line_and_exits_2() -> None:
    code = PRETEND + "sys.argv = ['memhound', 'run', 'x.py']\nimport memhound.cli"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr == (
        "memhound: error: memhound supports CPython 3.11, 3.12, 3.13; this is cpython 3.14\n"
    )
