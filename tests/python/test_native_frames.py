"""--native-frames: the C call stack of each native allocation, recorded in the hooks and named
when the capture is read (ELF symbols, DWARF lines, demangled C++). Each program runs in a
subprocess; the C++ library is built with g++ in the test's folder.

Not for ASan, for the reason test_native.py gives (the GOTs of a real interpreter are patched).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_contract import line_of, run_memhound, write_program

from memhound._capture import read_capture

CTYPES_MALLOC = """
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
"""

# A C++ library with a known function at a known line, for symbol, demangling and DWARF lines.
GRID_CPP = """\
#include <cstdlib>

namespace shapes {
struct Grid {
    __attribute__((noinline)) static void* makeBuffer(std::size_t cells) {
        void* buffer = std::malloc(cells * 8);  // GRID-MALLOC
        return buffer;
    }
};
}  // namespace shapes

extern "C" void* grid_alloc(std::size_t cells) {
    void* buffer = shapes::Grid::makeBuffer(cells);
    return buffer;
}
"""


def memhound(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_memhound(*args, cwd=cwd, timeout=300)


def report_json(capture: Path, *args: str) -> dict[str, Any]:
    result = memhound("report", str(capture), "--json", "-n", "0", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def sites_at(document: dict[str, Any], script: Path, line: int) -> list[dict[str, Any]]:
    """The sites whose Python stack goes through script:line."""
    return [
        site
        for site in document["sites"]
        if any(
            Path(frame["file"]).name == script.name and frame["line"] == line
            for frame in site["frames"]
        )
    ]


def native_functions(sites: list[dict[str, Any]]) -> set[str]:
    return {frame["function"] for site in sites for frame in site["native_frames"]}


def build_grid_library(folder: Path) -> Path:
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed")
    source = folder / "grid.cpp"
    source.write_text(GRID_CPP)
    library = folder / "libgrid.so"
    subprocess.run(
        ["g++", "-g", "-O0", "-shared", "-fPIC", "-o", str(library), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return library


NUMPY_ZLIB_CTYPES = (
    CTYPES_MALLOC
    + """
import zlib
import numpy as np

array = np.ones(2_000_000)  # NUMPY
compressor = zlib.compressobj(9)  # ZLIB
blocks = [libc.malloc(1 << 16) for _ in range(4)]  # CTYPES
"""
)


def test_numpy_zlib_and_ctypes_show_their_c_functions(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    script = write_program(tmp_path, NUMPY_ZLIB_CTYPES)
    capture = tmp_path / "mixed.bin"
    result = memhound("run", "--native-frames", "-o", str(capture), str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = report_json(capture)
    assert document["capture"]["header"]["native_frames"] is True

    numpy_sites = sites_at(document, script, line_of(script, "# NUMPY"))
    numpy_functions = native_functions(numpy_sites)
    assert any(name.startswith("PyArray_NewFromDescr") for name in numpy_functions), numpy_functions
    # zlib's deflate state comes through the raw domain (zlib's allocator is PyMem_RawMalloc).
    assert "deflateInit2_" in native_functions(
        sites_at(document, script, line_of(script, "# ZLIB"))
    )
    ctypes_sites = [
        site
        for site in document["sites"]
        if site["allocator"] == "malloc"
        and any(frame["function"] == "ffi_call" for frame in site["native_frames"])
    ]
    assert sum(site["bytes"] for site in ctypes_sites) == 4 << 16
    ctypes_functions = native_functions(ctypes_sites)
    assert "_ctypes_callproc" in ctypes_functions, ctypes_functions
    # The walk stops at the interpreter: none of its evaluation loop is shown.
    assert not any("EvalFrame" in name for name in native_functions(document["sites"]))

    text = memhound("report", str(capture), "-n", "0").stdout
    assert "C stack, innermost first:" in text
    assert "ffi_call  (libffi" in text


CPP_PROGRAM = """
import ctypes, sys
import memhound

path, library = sys.argv[1], sys.argv[2]
with memhound.Tracker(path, native_frames=True):
    grid = ctypes.CDLL(library)
    grid.grid_alloc.restype = ctypes.c_void_p
    grid.grid_alloc.argtypes = [ctypes.c_size_t]
    buffers = [grid.grid_alloc(4096) for _ in range(3)]  # CALL
"""


def run_cpp_program(tmp_path: Path) -> tuple[Path, Path, Path]:
    library = build_grid_library(tmp_path)
    script = write_program(tmp_path, CPP_PROGRAM)
    capture = tmp_path / "grid.bin"
    result = subprocess.run(
        [sys.executable, str(script), str(capture), str(library)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return script, library, capture


def grid_frames(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The C frames of the malloc rows that went through libgrid.so."""
    return [
        frame
        for site in document["sites"]
        if site["allocator"] == "malloc"
        for frame in site["native_frames"]
        if frame["object"].endswith("libgrid.so")
    ]


def test_a_cpp_library_shows_its_demangled_function_and_source_line(tmp_path: Path) -> None:
    script, _library, capture = run_cpp_program(tmp_path)
    document = report_json(capture)
    frames = grid_frames(document)
    assert frames, document["sites"][:3]
    by_function = {frame["function"]: frame for frame in frames}
    inner = by_function["shapes::Grid::makeBuffer(unsigned long)"]
    assert Path(inner["file"]).name == "grid.cpp"
    assert (
        inner["line"]
        == GRID_CPP.splitlines().index(
            next(text for text in GRID_CPP.splitlines() if "GRID-MALLOC" in text)
        )
        + 1
    )
    assert "grid_alloc" in by_function
    # The grid's frames sit under the Python line that called it.
    rows = [site for site in document["sites"] if grid_frames({"sites": [site]})]
    assert sum(site["bytes"] for site in rows) == 3 * 4096 * 8
    lines = {site["frames"][0]["line"] for site in rows if site["frames"]}
    assert lines <= {line_of(script, "# CALL")}


def test_a_capture_reads_when_its_library_is_gone(tmp_path: Path) -> None:
    _script, library, capture = run_cpp_program(tmp_path)
    library.unlink()
    document = report_json(capture)
    frames = grid_frames(document)
    assert frames
    assert all(frame["function"] == "" and frame["offset"] > 0 for frame in frames)
    text = memhound("report", str(capture), "-n", "0").stdout
    assert "libgrid.so+0x" in text


def test_a_library_rebuilt_since_the_capture_shows_offsets_only(tmp_path: Path) -> None:
    _script, library, capture = run_cpp_program(tmp_path)
    source = tmp_path / "grid.cpp"
    source.write_text(GRID_CPP.replace("cells * 8", "cells * 8 + 1"))
    subprocess.run(
        ["g++", "-g", "-O0", "-shared", "-fPIC", "-o", str(library), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    frames = grid_frames(report_json(capture))
    assert frames and all(frame["function"] == "" for frame in frames)


THREADS_AND_FORK = (
    CTYPES_MALLOC
    + """
import os, threading

stop = threading.Event()

def churn():
    while not stop.is_set():
        libc.free(libc.malloc(8192))
        [str(n) for n in range(50)]

workers = [threading.Thread(target=churn) for _ in range(3)]
for worker in workers:
    worker.start()
children = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        kept = [libc.malloc(65536) for _ in range(10)]  # CHILD
        os._exit(0)
    children.append(pid)
for pid in children:
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
kept = [libc.malloc(32768) for _ in range(5)]  # PARENT
stop.set()
for worker in workers:
    worker.join()
print("parent done")
"""
)


@pytest.mark.parametrize("follow", [False, True], ids=["child-stops", "child-follows"])
def test_threads_and_fork_with_native_frames(tmp_path: Path, follow: bool) -> None:
    script = write_program(tmp_path, THREADS_AND_FORK)
    capture = tmp_path / "fork.bin"
    options = ["--follow-fork"] if follow else []
    result = memhound(
        "run", "-o", str(capture), "--native-frames", *options, str(script), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "parent done" in result.stdout
    assert read_capture(capture).complete
    parent = report_json(capture, "--leaks")
    assert "ffi_call" in native_functions(sites_at(parent, script, line_of(script, "# PARENT")))
    children = sorted(tmp_path.glob("fork.bin.*"))
    assert len(children) == (3 if follow else 0)
    for child in children:
        # os._exit skips the clean stop: the child's capture is read up to its last frame.
        document = report_json(child, "--leaks")
        assert document["capture"]["header"]["native_frames"] is True
        sites = sites_at(document, script, line_of(script, "# CHILD"))
        if sites:
            assert "ffi_call" in native_functions(sites)


def test_a_native_leak_shows_its_c_frames(tmp_path: Path) -> None:
    library = build_grid_library(tmp_path)
    cases = write_program(
        tmp_path,
        f"""
import ctypes
grid = ctypes.CDLL({str(library)!r})
grid.grid_alloc.restype = ctypes.c_void_p
grid.grid_alloc.argtypes = [ctypes.c_size_t]

def grab(i):
    grid.grid_alloc(8192)  # NATIVE LEAK
""",
        name="native_cases.py",
    )
    out = tmp_path / "leaks.json"
    result = memhound(
        "leaks", f"{cases}:grab", "--iterations", "8", "--native-frames", "--json", str(out)
    )
    assert result.returncode == 1, result.stdout + result.stderr
    (leak,) = [leak for leak in json.loads(out.read_text())["leaks"] if "native" in leak["kinds"]]
    functions = [frame["function"] for frame in leak["native_frames"]]
    assert functions[:2] == ["shapes::Grid::makeBuffer(unsigned long)", "grid_alloc"], functions
    assert "C stack       shapes::Grid::makeBuffer(unsigned long)" in result.stdout


RELEASED_GIL = (
    CTYPES_MALLOC
    + """
def scratch():
    return [libc.malloc(1 << 16) for _ in range(32)]  # SCRATCH

blocks = scratch()
"""
)


@pytest.mark.parametrize("frames", [False, True], ids=["native", "native-frames"])
def test_calls_that_released_the_gil_keep_their_line(tmp_path: Path, frames: bool) -> None:
    # Each ctypes call releases the GIL; the list grows between calls, so the frame's last traced
    # allocation was at another instruction: the call still gets its own line.
    script = write_program(tmp_path, RELEASED_GIL)
    capture = tmp_path / "gil.bin"
    option = "--native-frames" if frames else "--native"
    result = memhound("run", option, "-o", str(capture), str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = report_json(capture)
    mallocs = [site for site in document["sites"] if site["allocator"] == "malloc"]
    at_line = sites_at({"sites": mallocs}, script, line_of(script, "# SCRATCH"))
    assert sum(site["count"] for site in at_line) == 32
