"""Native memory outside the tracer: the heap snapshot counts the buffers that objects own (what
their type's __sizeof__ reports), and the `heap` and `leaks` reports compare what they explain
with the process's RSS. Programs that need RSS to be measured run in subprocesses."""

from __future__ import annotations

import array
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_contract import run_memhound, write_program

from memhound import snapshot
from memhound._leaks._model import LeakReport, ResourceCounts, RssGrowth
from memhound._leaks._render import render_text
from memhound.cli.heap import memory_against_rss, memory_line

MIB = 1 << 20
ARRAY_BYTES = 80_000_000

CTYPES_LIBC = """
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
"""


def test_numpy_buffers_count_in_the_census_and_in_retained_sizes() -> None:
    numpy = pytest.importorskip("numpy")
    holder = {"arrays": [numpy.ones(ARRAY_BYTES // 8) for _ in range(3)]}
    views = [whole[::2] for whole in holder["arrays"]]  # share their base's buffer
    snap = snapshot()
    (row,) = [row for row in snap.by_type(len(snap.by_type())) if row.type == "numpy.ndarray"]
    assert 3 * ARRAY_BYTES <= row.shallow_bytes < 3 * ARRAY_BYTES + 4096
    assert row.count >= 6
    for view in views:  # a view owns no data: its header only
        assert snap.shallow_size(view) == sys.getsizeof(view) < 1000
    del views, view  # the arrays were reachable twice; now only through the list
    snap = snapshot()
    assert snap.retained_size(holder["arrays"]) >= 3 * ARRAY_BYTES
    assert snap.retained_size(holder) >= 3 * ARRAY_BYTES
    assert snap.shallow_size(holder["arrays"][0]) == sys.getsizeof(holder["arrays"][0])


def test_buffer_objects_are_sized_as_sys_getsizeof_sizes_them() -> None:
    kept = [
        bytearray(5 * MIB),
        bytearray(b"x" * 1000)[100:],
        array.array("d", range(100_000)),
        io.BytesIO(b"y" * MIB),
        b"z" * 300_000,
        memoryview(bytearray(2 * MIB)),
    ]
    snap = snapshot()
    for obj in kept:
        assert snap.shallow_size(obj) == sys.getsizeof(obj), type(obj)
    assert snap.retained_size(kept) >= 8 * MIB


def heap_json(tmp_path: Path, source: str) -> dict[str, Any]:
    program = write_program(tmp_path, source)
    result = run_memhound("heap", "--json", "-n", "3", str(program), timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_heap_memory_line_counts_numpy_buffers(tmp_path: Path) -> None:
    pytest.importorskip("numpy")
    report = heap_json(
        tmp_path, "import numpy\narrays = [numpy.ones(10_000_000) for _ in range(3)]\n"
    )
    memory = report["memory"]
    assert memory["counted_bytes"] == report["total_bytes"] >= 3 * ARRAY_BYTES
    assert memory["rss_bytes"] >= 3 * ARRAY_BYTES
    assert not memory["large_gap"]  # the objects explain the RSS


def test_heap_hints_native_tracing_when_malloc_holds_the_rss(tmp_path: Path) -> None:
    source = CTYPES_LIBC + (
        "blocks = [libc.malloc(1 << 20) for _ in range(200)]\n"
        "for block in blocks:\n    libc.memset(block, 1, 1 << 20)  # resident\n"
    )
    report = heap_json(tmp_path, source)
    memory = report["memory"]
    assert memory["large_gap"] and memory["unexplained_bytes"] >= 190 * MIB
    program = tmp_path / "program.py"
    text = run_memhound("heap", "-n", "3", str(program), timeout=300).stdout
    (line,) = [line for line in text.splitlines() if line.startswith("Objects hold")]
    assert "is in no object" in line and "run `memhound run --native`" in line


def test_heap_memory_line_hint_rule() -> None:
    small = memory_against_rss(30 * MIB, 90 * MIB)  # 60 MiB unexplained: the interpreter's share
    assert small is not None and not small["large_gap"]
    assert memory_line(small) == "Objects hold 30.0 MiB of 90.0 MiB RSS; 60.0 MiB is in no object"
    large = memory_against_rss(30 * MIB, 300 * MIB)
    assert large is not None and large["large_gap"] and "--native" in memory_line(large)
    assert memory_against_rss(10, None) is None and memory_line(None) == ""


def report_with(memory: RssGrowth | None) -> LeakReport:
    resources = ResourceCounts({}, {})
    return LeakReport("app.py:handle", 30, 3, 1.0, [], [], resources, memory=memory)


def test_leaks_rss_line_and_hint_rule() -> None:
    quiet = RssGrowth(rss_per_iteration=40_000, explained_per_iteration=36_000, window=10)
    assert not quiet.large_gap
    text = render_text(report_with(quiet))
    assert "RSS +39.1 KiB per iteration, the findings explain 35.2 KiB" in text
    assert "no hook saw" not in text
    loud = RssGrowth(rss_per_iteration=MIB, explained_per_iteration=1000, window=10)
    assert loud.large_gap and "native leak suspected" in render_text(report_with(loud))
    assert loud.to_json()["unexplained_bytes_per_iteration"] == MIB - 1000
    assert "RSS" not in render_text(report_with(None))
    assert report_with(None).to_json()["memory"] is None


def test_leaks_reports_rss_growth_that_no_hook_saw(tmp_path: Path) -> None:
    # mmap through a ctypes function read before the check: neither the GOT hooks nor mallinfo
    # see it, only the RSS.
    cases = write_program(
        tmp_path,
        """
        import ctypes, mmap
        libc = ctypes.CDLL(None)
        map_pages = libc.mmap
        map_pages.restype = ctypes.c_void_p
        map_pages.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
        FLAGS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
        map_pages(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE, FLAGS, -1, 0)  # looked up now

        def grow():
            block = map_pages(None, 1 << 20, mmap.PROT_READ | mmap.PROT_WRITE, FLAGS, -1, 0)
            libc.memset(block, 1, 1 << 20)
        """,
        name="mapping_cases.py",
    )
    out = tmp_path / "leaks.json"
    result = run_memhound(
        "leaks", f"{cases}:grow", "--iterations", "30", "--json", str(out), timeout=300
    )
    report = json.loads(out.read_text())
    memory = report["memory"]
    assert memory["rss_bytes_per_iteration"] >= 0.9 * MIB, memory
    assert memory["large_gap"] and memory["unexplained_bytes_per_iteration"] >= 0.9 * MIB
    assert "native leak suspected" in result.stdout


def test_leaks_rss_explained_by_a_python_leak(tmp_path: Path) -> None:
    cases = write_program(
        tmp_path,
        """
        KEPT = []

        def grow():
            KEPT.append(bytearray(1 << 20))
        """,
        name="python_cases.py",
    )
    out = tmp_path / "leaks.json"
    result = run_memhound("leaks", f"{cases}:grow", "--json", str(out), timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    memory = json.loads(out.read_text())["memory"]
    assert memory["explained_bytes_per_iteration"] >= MIB and not memory["large_gap"]
    assert "RSS +1.0 MiB per iteration, the findings explain 1.0 MiB" in result.stdout
