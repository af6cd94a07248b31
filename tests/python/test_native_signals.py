"""A library that calls malloc and free from a signal handler while --native tracing runs: a
signal interrupts its thread anywhere (inside the interpreter, inside a hook, inside malloc), so
the hooks must neither deadlock nor read a half-made stack. The library is built with gcc.

Not for ASan (see test_native.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cli_contract import run_memhound, write_program

from memhound._capture import read_capture

SOURCE = Path(__file__).parent / "native_data" / "signal_alloc.c"

PROGRAM = """
import ctypes, sys, time

lib = ctypes.CDLL(sys.argv[1])
lib.start_signals.argtypes = [ctypes.c_long]
lib.stop_signals.restype = ctypes.c_long
lib.churn.argtypes = [ctypes.c_int]
if lib.start_signals(20) != 0:  # a SIGUSR1 to this thread every 20 us
    raise SystemExit("could not install the handler")
installed = lib.handler_installed()
kept = []
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    kept.append([str(i) * 3 for i in range(300)])  # Python allocations
    kept.append(bytearray(5000))
    lib.churn(50)  # C allocations: malloc, calloc, realloc, free
    if len(kept) > 100:
        kept.clear()
print("handled", lib.stop_signals(), "installed", installed)
"""


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is needed to build the signal-handler library")
    target = tmp_path_factory.mktemp("signal_lib") / "libsignal_alloc.so"
    subprocess.run(
        [gcc, "-O2", "-shared", "-fPIC", "-o", str(target), str(SOURCE), "-lpthread"],
        check=True,
        capture_output=True,
    )
    return target


@pytest.mark.parametrize("run", range(3))
def test_malloc_in_a_signal_handler_while_tracing_natively(
    tmp_path: Path, library: Path, run: int
) -> None:
    program = write_program(tmp_path, PROGRAM)
    capture = tmp_path / "signals.bin"
    result = run_memhound(
        "run", "--native", "-o", str(capture), str(program), str(library), "2", timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    words = result.stdout.split()
    handled = int(words[words.index("handled") + 1])
    assert handled >= 1000  # the handler ran thousands of times, inside anything
    assert words[words.index("installed") + 1] == "1"  # sigaction shows the program's handler
    stats = read_capture(str(capture)).stats()
    assert stats["allocations"] > 100_000
    malloced = sum(
        bucket["count"] for bucket in stats["size_histogram"] if bucket["low"] >= 128 * 1024
    )
    assert malloced > 1000  # churn's calloc and realloc blocks, traced through the GOT hooks
