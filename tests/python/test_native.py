"""Memory that does not come through PyMem: PyTraceMalloc_Track (numpy's arrays, recorded in every
mode), the C allocator under --native / Tracker(native=True), and the report header that compares
the traced peak with the peak RSS. Each program runs in a subprocess.

Not for ASan: these tests patch the GOT of the interpreter's loaded objects, which an ASan
runtime (itself interposing malloc and mmap) does not expect; they run on the normal build only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from cli_contract import line_of, run_memhound, write_program

from memhound._capture import read_capture

MB = 1_000_000
MIB = 1 << 20

CTYPES_MALLOC = """
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
"""


def memhound(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_memhound(*args, cwd=cwd, timeout=300)


def run_python(script: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def bytes_through(
    sites: list[dict[str, Any]], script: Path, line: int, allocators: set[str]
) -> int:
    """Bytes of the sites of those allocators whose stack passes through script:line."""
    return sum(
        site["bytes"]
        for site in sites
        if site["allocator"] in allocators
        and any(
            Path(frame["file"]).name == script.name and frame["line"] == line
            for frame in site["frames"]
        )
    )


THREE_ARRAYS = """
import numpy as np

def build():
    arrays = [np.ones(10_000_000) for _ in range(3)]  # ARRAYS: three 80 MB arrays
    strings = [str(i) * 3 for i in range(100_000)]
    return arrays, strings

kept = build()
"""


@pytest.mark.parametrize("native", [False, True], ids=["default", "native"])
def test_numpy_arrays_are_seen_at_their_line(tmp_path: Path, native: bool) -> None:
    pytest.importorskip("numpy")
    script = write_program(tmp_path, THREE_ARRAYS)
    capture_path = tmp_path / "arrays.bin"
    options = ["--native"] if native else []
    result = memhound("run", "-o", str(capture_path), *options, str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = memhound("report", "--peak", "--by", "stack", "-n", "0", "--json", str(capture_path))
    assert report.returncode == 0, report.stderr
    document = json.loads(report.stdout)
    line = line_of(script, "# ARRAYS")
    # numpy reports its buffers through PyTraceMalloc_Track; under --native the malloc it calls
    # first is replaced by that record (one block, counted once).
    through = bytes_through(document["sites"], script, line, {"tracked", "malloc"})
    assert through >= 240 * MB
    assert through < 250 * MB
    memory = document["capture"]["memory"]
    assert memory["traced_peak_bytes"] >= 240 * MB
    assert memory["native"] is native
    text = memhound("report", "--peak", str(capture_path)).stdout
    assert "[PyTraceMalloc_Track]" in text
    assert "run with --native" not in text


def test_numpy_arrays_freed_are_not_live(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    script = write_program(
        tmp_path,
        """
        import numpy as np
        for _ in range(20):
            block = np.zeros(1_000_000)  # CHURN
        del block
        """,
    )
    capture_path = tmp_path / "churn.bin"
    assert memhound("run", "-o", str(capture_path), str(script), cwd=tmp_path).returncode == 0
    capture = read_capture(capture_path)
    line = line_of(script, "# CHURN")
    assert bytes_through(capture.sites("leaks", "stack", 0), script, line, {"tracked"}) == 0
    # One or two 8 MB blocks live at the peak (the new one is made before the old one is freed).
    at_peak = bytes_through(capture.sites("peak", "stack", 0), script, line, {"tracked"})
    assert 8 * MB <= at_peak <= 16 * MB


HIDDEN_MALLOC = (
    CTYPES_MALLOC
    + """
import time
size = 200 * 1024 * 1024
block = libc.malloc(size)  # HIDDEN
libc.memset(block, 1, size)
time.sleep(0.2)  # a few RSS samples with the block resident
"""
)


def test_the_header_says_what_the_trace_did_not_see(tmp_path: Path) -> None:
    script = write_program(tmp_path, HIDDEN_MALLOC)
    plain, native = tmp_path / "plain.bin", tmp_path / "native.bin"
    assert memhound("run", "-o", str(plain), str(script), cwd=tmp_path).returncode == 0
    assert memhound("run", "-o", str(native), "--native", str(script), cwd=tmp_path).returncode == 0

    text = memhound("report", str(plain)).stdout
    assert "peak RSS; run with --native to see the rest" in text
    document = json.loads(memhound("report", "--json", str(plain)).stdout)
    memory = document["capture"]["memory"]
    assert memory["large_gap"] is True
    assert memory["peak_rss_bytes"] >= 200 * MIB
    assert memory["untraced_bytes"] >= 190 * MIB
    stats = memhound("stats", str(plain)).stdout
    assert "run with --native to see the rest" in stats

    document = json.loads(memhound("report", "--json", str(native)).stdout)
    memory = document["capture"]["memory"]
    assert memory["large_gap"] is False
    assert memory["traced_peak_bytes"] >= 200 * MIB
    line = line_of(script, "# HIDDEN")
    assert bytes_through(document["sites"], script, line, {"malloc"}) == 200 * MIB
    assert "[malloc]" in memhound("report", str(native)).stdout


def test_a_small_program_gets_no_warning(tmp_path: Path) -> None:
    script = write_program(
        tmp_path, "data = [str(i) for i in range(200_000)]\nimport time; time.sleep(0.1)\n"
    )
    capture_path = tmp_path / "small.bin"
    assert memhound("run", "-o", str(capture_path), str(script), cwd=tmp_path).returncode == 0
    text = memhound("report", str(capture_path)).stdout
    assert "peak RSS" in text
    assert "--native" not in text


# ctypes looks malloc up with dlsym when its attribute is first read: inside the Tracker, that
# is the hook (a function pointer read before tracing started calls libc directly, unseen).
TRACKER_NATIVE = """
import sys
import memhound

with memhound.Tracker(sys.argv[1], native=NATIVE):
    CTYPES_MALLOC
    kept = [libc.malloc(65536) for _ in range(8)]  # KEPT
    for _ in range(50):
        libc.free(libc.malloc(1 << 20))  # FREED
""".replace("CTYPES_MALLOC", textwrap.indent(CTYPES_MALLOC, "    ").strip())


@pytest.mark.parametrize("native", [False, True], ids=["default", "native"])
def test_tracker_native_records_malloc_at_the_calling_line(tmp_path: Path, native: bool) -> None:
    script = write_program(tmp_path, TRACKER_NATIVE.replace("NATIVE", str(native)))
    capture_path = tmp_path / "tracker.bin"
    result = run_python(script, str(capture_path), timeout=300)
    assert result.returncode == 0, result.stderr
    capture = read_capture(capture_path)
    assert capture.header["native"] is native
    kept = bytes_through(
        capture.sites("leaks", "line", 0), script, line_of(script, "# KEPT"), {"malloc"}
    )
    freed_line = line_of(script, "# FREED")
    freed = bytes_through(capture.sites("leaks", "line", 0), script, freed_line, {"malloc"})
    at_peak = bytes_through(capture.sites("peak", "line", 0), script, freed_line, {"malloc"})
    if native:
        assert kept == 8 * 65536
        assert freed == 0
        assert at_peak == 1 << 20
    else:
        assert kept == freed == at_peak == 0
        assert all(site["allocator"] == "pymem" for site in capture.sites("peak", "line", 0))


def test_ctypes_malloc_leak_is_native_at_its_line(tmp_path: Path) -> None:
    cases = write_program(
        tmp_path,
        CTYPES_MALLOC
        + """

def grab(i):
    libc.malloc(65536)  # NATIVE LEAK
""",
        name="native_cases.py",
    )
    out = tmp_path / "leaks.json"
    result = memhound("leaks", f"{cases}:grab", "--iterations", "8", "--json", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(out.read_text())
    (leak,) = [leak for leak in report["leaks"] if "native" in leak["kinds"]]
    assert leak["kinds"] == ["native"]
    assert 60_000 <= leak["bytes_per_iteration"] <= 70_000
    top = leak["allocated_at"][0]
    assert (Path(top["file"]).name, top["line"]) == (cases.name, line_of(cases, "# NATIVE LEAK"))


# ---- reliability ---------------------------------------------------------------------------


def test_threads_allocating_while_tracing_starts_and_stops(tmp_path: Path) -> None:
    script = write_program(
        tmp_path,
        CTYPES_MALLOC
        + """
import os, sys, threading
import memhound

stop = threading.Event()

def churn():
    while not stop.is_set():
        blocks = [libc.malloc(4096) for _ in range(100)]
        text = [str(n) for n in range(100)]
        for block in blocks:
            libc.free(block)

workers = [threading.Thread(target=churn) for _ in range(3)]
for worker in workers:
    worker.start()
for round in range(15):
    with memhound.Tracker(os.path.join(sys.argv[1], f"round{round}.bin"), native=round % 2 == 0):
        [libc.free(libc.malloc(100)) for _ in range(1000)]
stop.set()
for worker in workers:
    worker.join()
print("done")
""",
    )
    result = run_python(script, str(tmp_path), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done"
    for round in range(15):
        capture = read_capture(tmp_path / f"round{round}.bin")
        assert capture.complete
        assert capture.header["native"] is (round % 2 == 0)


@pytest.mark.parametrize("follow", [False, True], ids=["child-stops", "child-follows"])
def test_fork_in_a_threaded_program_with_native(tmp_path: Path, follow: bool) -> None:
    script = write_program(
        tmp_path,
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
for _ in range(5):
    pid = os.fork()
    if pid == 0:
        kept = [libc.malloc(65536) for _ in range(10)]  # CHILD
        os._exit(0)
    children.append(pid)
for pid in children:
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
stop.set()
for worker in workers:
    worker.join()
print("parent done")
""",
    )
    capture_path = tmp_path / "fork.bin"
    options = ["--follow-fork"] if follow else []
    result = memhound(
        "run", "-o", str(capture_path), "--native", *options, str(script), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "parent done" in result.stdout
    assert read_capture(capture_path).complete
    children = sorted(tmp_path.glob("fork.bin.*"))
    if not follow:
        assert children == []
        return
    assert len(children) == 5
    line = line_of(script, "# CHILD")
    for child in children:
        # os._exit skips the clean stop: the child's capture is read up to its last frame.
        capture = read_capture(child)
        assert capture.header["native"] is True
        assert bytes_through(capture.sites("leaks", "line", 0), script, line, {"malloc"}) in (
            0,
            10 * 65536,
        )


def test_an_extension_loaded_while_tracing_is_patched(tmp_path: Path) -> None:
    script = write_program(
        tmp_path,
        """
        import sys
        import memhound
        from memhound import _core

        assert "sqlite3" not in sys.modules
        with memhound.Tracker(sys.argv[1], native=True):
            before = _core.native_patched_slots()
            import sqlite3  # dlopen of _sqlite3 and libsqlite3
            after = _core.native_patched_slots()
            db = sqlite3.connect(":memory:")
            db.execute("create table t (x text)")
            db.executemany("insert into t values (?)", [("x" * 1000,)] * 2000)  # INSERT
            kept = db
        print(before, after)
        """,
    )
    capture_path = tmp_path / "sqlite.bin"
    result = run_python(script, str(capture_path), timeout=120)
    assert result.returncode == 0, result.stderr
    before, after = map(int, result.stdout.split())
    assert after > before
    capture = read_capture(capture_path)
    line = line_of(script, "# INSERT")
    assert bytes_through(capture.sites("leaks", "stack", 0), script, line, {"malloc"}) >= 1_000_000
    # Patched slots are put back at stop.
    check = write_program(
        tmp_path,
        """
        import sys, sqlite3
        import memhound
        from memhound import _core
        with memhound.Tracker(sys.argv[1], native=True):
            assert _core.native_patched_slots() > 0
        print(_core.native_patched_slots())
        """,
        name="restore.py",
    )
    result = run_python(check, str(tmp_path / "restore.bin"), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_a_library_unloaded_and_loaded_again_while_tracing(tmp_path: Path) -> None:
    # dlclose, then dlopen again (most often at the same address): the slots patched in the
    # first copy must not put that copy's old values into the second one at stop.
    script = write_program(
        tmp_path,
        """
        import ctypes, sys, _ctypes
        import memhound

        def load():
            lib = ctypes.CDLL("libsqlite3.so.0")
            lib.sqlite3_malloc.restype = ctypes.c_void_p
            lib.sqlite3_free.argtypes = [ctypes.c_void_p]
            return lib

        with memhound.Tracker(sys.argv[1], native=True):
            first = load()
            first.sqlite3_free(first.sqlite3_malloc(1000))
            _ctypes.dlclose(first._handle)
            second = load()
            kept = second.sqlite3_malloc(123456)  # SECOND COPY
        # after stop, the library's GOT holds libc's functions again
        second.sqlite3_free(second.sqlite3_malloc(4096))
        second.sqlite3_free(kept)
        print("ok")
        """,
    )
    capture_path = tmp_path / "reload.bin"
    result = run_python(script, str(capture_path), timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    # The second copy was patched (at ctypes' dlsym of sqlite3_malloc). The call allocates no
    # Python object at its line before releasing the GIL, so its block may have no Python stack.
    malloc_sites = read_capture(capture_path).sites("leaks", "line", 0)
    assert any(
        site["allocator"] == "malloc" and 123456 <= site["bytes"] < 124000 for site in malloc_sites
    )
