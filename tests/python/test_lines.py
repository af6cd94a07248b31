"""Line-by-line memory (`memhound.profile`, `memhound lines`): real programs in subprocesses,
their figures read from the JSON report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_contract import line_of, run_memhound, write_program

KIB = 1024
MIB = 1024 * 1024
LINE_KEYS = {"line", "source", "allocated", "freed", "net", "peak", "occurrences"}
FUNCTION_KEYS = {
    "function", "file", "first_line", "threads", "calls", "allocated", "freed", "peak", "lines"
}  # fmt: skip


def lines_json(*args: str, cwd: Path) -> dict[str, Any]:
    result = run_memhound("lines", "--json", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def row(function: dict[str, Any], number: int) -> dict[str, Any]:
    return next(r for r in function["lines"] if r["line"] == number)


def lines_of(script: Path, marker: str) -> list[int]:
    text = script.read_text().splitlines()
    return [number for number, line in enumerate(text, start=1) if marker in line]


def decorated_report(tmp_path: Path, source: str) -> list[dict[str, Any]]:
    """Runs a program whose profiled functions are listed in PROFILED; returns their reports."""
    script = write_program(tmp_path, source)
    tail = "\nimport json as _json\nprint(_json.dumps([f.line_report() for f in PROFILED]))\n"
    script.write_text(script.read_text() + tail)
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


LOOP = """\
    import memhound

    @memhound.profile(at_exit=False)
    def build():
        kept = []
        for _ in range(1000):
            kept.append(bytearray(1024))  # KEEP
        scratch = [bytearray(4096) for _ in range(100)]  # TEMP
        del scratch  # DROP
        return kept

    build()
    build()
    PROFILED = [build]
"""


def test_a_loop_line_sums_every_iteration(tmp_path: Path) -> None:
    (report,) = decorated_report(tmp_path, LOOP)
    script = tmp_path / "program.py"
    keep = row(report, line_of(script, "# KEEP"))
    assert report["calls"] == 2
    assert keep["occurrences"] == 2000
    # 2 calls x 1000 blocks of 1 KiB (and their object headers), the list's growth on top
    assert 2000 * KIB <= keep["net"] <= 2000 * 1.15 * KIB
    temp, drop = row(report, line_of(script, "# TEMP")), row(report, line_of(script, "# DROP"))
    assert temp["net"] >= 2 * 100 * 4096
    assert drop["freed"] >= 2 * 100 * 4096
    assert abs(temp["net"] + drop["net"]) < 4 * KIB
    # the peak is reached on the line that holds the scratch blocks, above what the function keeps
    assert temp["peak"] >= keep["net"] / 2 + 100 * 4096


THREADS = """\
    import threading
    import memhound

    held = []

    def other():
        held.append(bytearray(4 * 1024 * 1024))

    @memhound.profile(at_exit=False)
    def own():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()  # JOIN
        mine = bytearray(1024 * 1024)  # MINE
        return mine

    @memhound.profile(threads="all", at_exit=False)
    def everyone():
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()  # JOIN
        mine = bytearray(1024 * 1024)  # MINE
        return mine

    own()
    everyone()
    PROFILED = [own, everyone]
"""


def test_threads_own_counts_only_the_function_thread_and_all_counts_every_thread(
    tmp_path: Path,
) -> None:
    own, everyone = decorated_report(tmp_path, THREADS)
    script = tmp_path / "program.py"
    joins, mines = lines_of(script, "# JOIN"), lines_of(script, "# MINE")
    assert own["threads"] == "own" and everyone["threads"] == "all"
    assert MIB <= row(own, mines[0])["net"] < MIB + 4 * KIB
    # with threads="all" the ending thread's last frees may land on the next line
    assert abs(row(everyone, mines[1])["net"] - MIB) < 16 * KIB
    # the other thread allocates while the function is on thread.start() or thread.join()
    for report, join in zip((own, everyone), joins):
        report["threads_lines"] = row(report, join - 1)["net"] + row(report, join)["net"]
    assert own["threads_lines"] < 64 * KIB
    assert 4 * MIB - 16 * KIB <= everyone["threads_lines"] < 4 * MIB + 64 * KIB


ASYNC = """\
    import asyncio
    import memhound

    others = []

    async def noisy():
        for _ in range(8):
            others.append(bytearray(512 * 1024))
            await asyncio.sleep(0)

    @memhound.profile(at_exit=False)
    async def fetch():
        first = bytearray(1024 * 1024)  # FIRST
        await asyncio.sleep(0.05)  # AWAIT
        second = bytearray(2 * 1024 * 1024)  # SECOND
        return first, second

    async def main():
        results = await asyncio.gather(fetch(), noisy())
        return results

    asyncio.run(main())
    PROFILED = [fetch]
"""


def test_a_suspended_coroutine_is_not_charged_for_other_tasks(tmp_path: Path) -> None:
    (report,) = decorated_report(tmp_path, ASYNC)
    script = tmp_path / "program.py"
    first, wait, second = (line_of(script, m) for m in ("# FIRST", "# AWAIT", "# SECOND"))
    assert MIB <= row(report, first)["net"] < MIB + 4 * KIB
    assert 2 * MIB <= row(report, second)["net"] < 2 * MIB + 4 * KIB
    # the other task allocated 4 MiB while fetch was suspended on this line
    assert row(report, wait)["allocated"] < 64 * KIB
    assert report["peak"] < 3 * MIB + 64 * KIB


NESTED = """\
    import memhound

    def helper(n):
        return [bytearray(1024) for _ in range(n)]

    @memhound.profile(at_exit=False)
    def outer():
        data = helper(500)  # CALL
        return data

    @memhound.profile(at_exit=False)
    def depth(n):
        block = bytearray(100 * 1024)  # BLOCK
        if n:
            return [block, depth(n - 1)]  # RECURSE
        return [block]

    outer()
    depth(4)
    PROFILED = [outer, depth]
"""


def test_callees_and_recursion_count_toward_the_calling_line(tmp_path: Path) -> None:
    outer, depth = decorated_report(tmp_path, NESTED)
    script = tmp_path / "program.py"
    assert 500 * KIB <= row(outer, line_of(script, "# CALL"))["net"] < 560 * KIB
    assert depth["calls"] == 5
    block = row(depth, line_of(script, "# BLOCK"))
    assert block["occurrences"] == 5
    assert 5 * 100 * KIB <= block["net"] < 5 * 100 * KIB + 8 * KIB
    # each of the 4 recursive lines holds what the deeper calls kept: 4+3+2+1 blocks
    recurse = row(depth, line_of(script, "# RECURSE"))
    assert 10 * 100 * KIB <= recurse["net"] < 10 * 100 * KIB + 16 * KIB


GENERATOR = """\
    import memhound

    consumer_kept = []

    @memhound.profile(at_exit=False)
    def chunks(count):
        for _ in range(count):
            chunk = bytearray(256 * 1024)  # CHUNK
            yield chunk  # YIELD

    for piece in chunks(4):
        consumer_kept.append(bytearray(1024 * 1024))
    PROFILED = [chunks]
"""


def test_a_generator_owns_nothing_while_suspended(tmp_path: Path) -> None:
    (report,) = decorated_report(tmp_path, GENERATOR)
    script = tmp_path / "program.py"
    chunk = row(report, line_of(script, "# CHUNK"))
    assert chunk["occurrences"] == 4
    assert 4 * 256 * KIB <= chunk["allocated"] < 4 * 256 * KIB + 8 * KIB
    # the consumer's 4 MiB were allocated while the generator was suspended at its yield
    assert row(report, line_of(script, "# YIELD"))["allocated"] < 32 * KIB
    assert report["allocated"] < MIB + 64 * KIB


EXCEPTIONS = """\
    import memhound

    kept = []

    @memhound.profile(at_exit=False)
    def fails(size):
        kept.append(bytearray(size))  # KEPT
        raise ValueError("no")  # RAISE

    for size in (1024 * 1024, 2 * 1024 * 1024):
        try:
            fails(size)
        except ValueError:
            pass
    PROFILED = [fails]
"""


def test_an_exception_ends_the_call_and_keeps_its_figures(tmp_path: Path) -> None:
    (report,) = decorated_report(tmp_path, EXCEPTIONS)
    kept = row(report, line_of(tmp_path / "program.py", "# KEPT"))
    assert report["calls"] == 2
    assert kept["occurrences"] == 2
    assert 3 * MIB <= kept["net"] < 3 * MIB + 4 * KIB
    assert kept["peak"] >= 2 * MIB


SCRIPT = """\
    import sys

    def build(n):
        kept = []
        for _ in range(n):
            kept.append(bytearray(2048))  # APPEND
        return kept

    class Index:
        def add(self, n):
            self.words = [str(i) * 20 for i in range(n)]  # WORDS

    data = build(int(sys.argv[1]))
    Index().add(2000)
"""


def test_the_json_report_follows_its_schema(tmp_path: Path) -> None:
    script = write_program(tmp_path, SCRIPT)
    data = lines_json(
        "--function", "build", "--function", "Index.add", str(script), "300", cwd=tmp_path
    )
    assert data["schema"] == 1
    build, add = data["functions"]
    for function in (build, add):
        assert set(function) == FUNCTION_KEYS
        for line in function["lines"]:
            assert set(line) in (LINE_KEYS, {"line", "source"})
    assert (build["function"], add["function"]) == ("build", "Index.add")
    append = row(build, line_of(script, "# APPEND"))
    assert append["source"].strip().startswith("kept.append")
    assert append["occurrences"] == 300
    assert 300 * 2048 <= append["net"] < 300 * 2048 * 1.1
    assert row(add, line_of(script, "# WORDS"))["net"] >= 2000 * 40


def test_the_text_table_has_memory_profilers_shape(tmp_path: Path) -> None:
    script = write_program(tmp_path, SCRIPT)
    result = run_memhound("lines", "--function", "build", str(script), "100", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(i for i, text in enumerate(lines) if text.lstrip().startswith("Line #"))
    assert re.split(r"\s{2,}", lines[header].strip()) == [
        "Line #", "Allocated", "Freed", "Net", "Peak", "Occurrences", "Line Contents"
    ]  # fmt: skip
    append = next(text for text in lines if "# APPEND" in text)
    assert re.match(rf"\s*{line_of(script, '# APPEND')}\s+\S+ KiB", append)
    assert " 100 " in append


def test_the_command_runs_a_module_and_passes_its_exit_code(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    write_program(package, SCRIPT + "    sys.exit(3)\n", "job.py")
    result = run_memhound(
        "lines", "--json", "--function", "build", "-m", "pkg.job", "50", cwd=tmp_path
    )
    assert result.returncode == 3, result.stderr
    (build,) = json.loads(result.stdout)["functions"]
    assert build["file"].endswith("job.py")
    assert 50 * 2048 <= build["allocated"] - build["freed"] < 50 * 2048 * 1.2


def test_a_function_of_another_module_is_named_module_colon_name(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    write_program(package, SCRIPT, "job.py")
    main = write_program(tmp_path, "from pkg.job import build\nbuild(20)\n", "main.py")
    data = lines_json("--function", "pkg.job:build", str(main), "5", cwd=tmp_path)
    (build,) = data["functions"]
    assert build["calls"] == 2  # pkg.job's own top level calls it too


@pytest.mark.parametrize(
    "args, message",
    [
        (["--function", "nope", "SCRIPT"], "no function named 'nope'"),
        (["--function", "no_such_module:f", "SCRIPT"], "no module named 'no_such_module'"),
        (["SCRIPT"], "--function"),
        (["--function", "build", "--threads", "some", "SCRIPT"], "--threads"),
        (["--function", "build", "missing.py"], "can't open file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    script = write_program(tmp_path, SCRIPT)
    words = [str(script) if word == "SCRIPT" else word for word in args]
    result = run_memhound("lines", *words, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_options_of_the_decorator_are_refused() -> None:
    import memhound

    with pytest.raises(memhound.UsageError, match="threads"):
        memhound.profile(threads="mine")
    with pytest.raises(memhound.UsageError, match="async generator"):

        @memhound.profile
        async def agen():  # pragma: no cover (never called)
            yield 1


DIFFERENTIAL = """\
    def work():
        a = bytearray(60 * 1024 * 1024)  # A
        a[::4096] = b"x" * len(a[::4096])
        b = bytearray(30 * 1024 * 1024)  # B
        b[::4096] = b"y" * len(b[::4096])
        return a, b

    work()
"""


def test_increments_agree_with_memory_profiler_on_big_allocations(tmp_path: Path) -> None:
    pytest.importorskip("memory_profiler")
    script = write_program(tmp_path, "@profile\n" + __import__("textwrap").dedent(DIFFERENTIAL))
    result = subprocess.run(
        [sys.executable, "-m", "memory_profiler", str(script)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    theirs = {}
    for text in result.stdout.splitlines():
        match = re.match(r"\s*(\d+)\s+[\d.]+ MiB\s+([-\d.]+) MiB\s+\d+\s", text)
        if match:
            theirs[int(match.group(1))] = float(match.group(2)) * MIB
    plain = write_program(tmp_path, DIFFERENTIAL, "plain.py")
    (ours,) = lines_json("--function", "work", str(plain), cwd=tmp_path)["functions"]
    for marker in ("# A", "# B"):
        mine = row(ours, line_of(plain, marker))["net"]
        assert theirs[line_of(script, marker)] == pytest.approx(mine, rel=0.1)


ANOTHER_TRACER = """\
    import sys
    import memhound

    seen = []

    def tracer(frame, event, arg):
        if event == "line" and frame.f_code.co_name == "helper":
            seen.append(frame.f_lineno)
        return tracer

    def helper():
        return bytearray(1024)

    @memhound.profile(at_exit=False)
    def work():
        return helper()  # CALL

    sys.settrace(tracer)
    work()
    restored = sys.gettrace() is tracer
    sys.settrace(None)
    PROFILED = [work]
    print(restored, len(seen))
"""


def test_another_tracer_is_given_back_and_on_312_keeps_running(tmp_path: Path) -> None:
    script = write_program(tmp_path, ANOTHER_TRACER)
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    restored, seen = result.stdout.split()
    assert restored == "True"
    # 3.12+ takes its events from sys.monitoring: a settrace tool goes on seeing every line
    assert (int(seen) > 0) == (sys.version_info >= (3, 12))
