"""End-to-end tracing: real programs under `memhound run` / memhound.Tracker, each in a subprocess.

Each test writes a small program, traces it, reads the capture back and checks what a user would
look for: the line that allocated, its amount, thread names, fork behaviour, crash safety, the
program's own exit code and argv, and agreement with tracemalloc.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_contract import line_of, run_memhound, write_program

from memhound._capture import read_capture

MIB = 1 << 20


def memhound(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_memhound(*args, cwd=cwd, timeout=300)


def run_python(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def site_bytes(capture, view: str, script: Path, line: int) -> int:
    """Bytes of the `view` sites whose innermost frame is script:line."""
    total = 0
    for site in capture.sites(view, "line", 0):
        frame = site["frames"][0]
        if Path(frame["file"]).name == script.name and frame["line"] == line:
            total += site["bytes"]
    return total


def test_known_allocation_shows_at_its_line_in_peak_and_leaks(tmp_path: Path) -> None:
    script = write_program(
        tmp_path,
        """
        def hold():
            return [bytearray(1 << 20) for _ in range(8)]  # HOLD

        def churn():
            for _ in range(4):
                scratch = [bytearray(1 << 20) for _ in range(4)]  # CHURN
                del scratch

        churn()
        kept = hold()
        """,
    )
    output = tmp_path / "capture.bin"
    result = memhound("run", "-o", str(output), str(script))
    assert result.returncode == 0, result.stderr
    capture = read_capture(output)
    assert capture.complete
    hold_line = line_of(script, "# HOLD")
    assert site_bytes(capture, "leaks", script, hold_line) >= 8 * MIB
    assert site_bytes(capture, "peak", script, hold_line) >= 8 * MIB
    # The churn allocations were all freed: not leaks.
    assert site_bytes(capture, "leaks", script, line_of(script, "# CHURN")) < MIB


def test_stack_has_every_frame_of_a_deep_recursion(tmp_path: Path) -> None:
    script = write_program(
        tmp_path,
        """
        import sys
        sys.setrecursionlimit(5000)

        def descend(depth):
            if depth == 0:
                return bytearray(4 << 20)  # BOTTOM
            return descend(depth - 1)

        kept = descend(1500)
        """,
    )
    output = tmp_path / "capture.bin"
    assert memhound("run", "-o", str(output), str(script)).returncode == 0
    capture = read_capture(output)
    bottom = line_of(script, "# BOTTOM")
    stacks = [s for s in capture.sites("leaks", "stack", 0) if s["frames"][0]["line"] == bottom]
    assert stacks, "the allocation at the bottom of the recursion is missing"
    frames = stacks[0]["frames"]
    assert sum(1 for f in frames if f["function"] == "descend") == 1501
    assert frames[-1]["function"] != "descend"  # the callers of the recursion are there too


@pytest.mark.parametrize("limit", [1000, 100_000])
def test_recursion_goes_as_deep_as_without_tracing_and_never_overflows_the_c_stack(
    tmp_path: Path, limit: int
) -> None:
    # Under the frame hook every Python call is a C call: 3.12+ would spend C recursion levels a
    # plain run does not, and a limit raised this high would overflow the C stack of any version.
    script = write_program(
        tmp_path,
        f"""
        import sys, threading
        sys.setrecursionlimit({limit})

        def down(n):
            try:
                return down(n + 1)
            except RecursionError:
                return n

        depths = [down(0)]
        worker = threading.Thread(target=lambda: depths.append(down(0)))
        worker.start()
        worker.join()
        print(*depths)
        """,
    )
    result = memhound("run", "-o", str(tmp_path / "capture.bin"), str(script))
    assert result.returncode == 0, result.stderr
    depths = [int(word) for word in result.stdout.split()]
    assert len(depths) == 2
    assert min(depths) >= (limit - 30 if limit == 1000 else 5000)


def test_stacks_stay_right_through_generators_exceptions_and_coroutines(tmp_path: Path) -> None:
    # Frames come and go between allocations here in every way the stack cache must notice.
    script = write_program(
        tmp_path,
        """
        import asyncio

        def deep(n):
            if n == 0:
                raise ValueError("bottom")
            deep(n - 1)

        def produce():
            for _ in range(3):
                yield bytearray(1 << 20)  # GEN

        def after_raise():
            try:
                deep(50)
            except ValueError:
                return bytearray(2 << 20)  # EXCEPT

        async def coro():
            await asyncio.sleep(0)
            return bytearray(3 << 20)  # CORO

        kept = [list(produce()), after_raise(), asyncio.run(coro())]
        """,
    )
    output = tmp_path / "capture.bin"
    assert memhound("run", "-o", str(output), str(script)).returncode == 0
    capture = read_capture(output)
    stacks = capture.sites("leaks", "stack", 0)

    def functions_at(marker: str) -> list[str]:
        line = line_of(script, marker)
        found = [s for s in stacks if s["frames"][0]["line"] == line and s["bytes"] >= MIB]
        assert found, marker
        return [f["function"] for f in found[0]["frames"]]

    assert functions_at("# GEN")[:2] == ["produce", "<module>"]
    assert functions_at("# EXCEPT")[:2] == ["after_raise", "<module>"]
    coro_stack = functions_at("# CORO")
    assert coro_stack[0] == "coro" and "deep" not in coro_stack and "run" in coro_stack
    for marker, size in (("# GEN", 3 * MIB), ("# EXCEPT", 2 * MIB), ("# CORO", 3 * MIB)):
        assert site_bytes(capture, "leaks", script, line_of(script, marker)) >= size


def test_threads_are_named_and_their_allocations_attributed(tmp_path: Path) -> None:
    script = write_program(
        tmp_path,
        """
        import threading

        kept = {}

        def alpha_work():
            kept["alpha"] = [bytearray(1 << 20) for _ in range(3)]  # ALPHA

        def beta_work():
            kept["beta"] = [bytearray(1 << 20) for _ in range(5)]  # BETA

        threads = [threading.Thread(target=alpha_work, name="alpha"),
                   threading.Thread(target=beta_work, name="beta")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        """,
    )
    output = tmp_path / "capture.bin"
    assert memhound("run", "-o", str(output), str(script)).returncode == 0
    capture = read_capture(output)
    names = {thread["name"] for thread in capture.threads}
    assert {"MainThread", "alpha", "beta"} <= names
    assert 3 * MIB <= site_bytes(capture, "leaks", script, line_of(script, "# ALPHA")) < 4 * MIB
    assert 5 * MIB <= site_bytes(capture, "leaks", script, line_of(script, "# BETA")) < 6 * MIB
    # The allocating frames hang under the thread's own bootstrap, not the main thread's stack.
    beta = [
        s
        for s in capture.sites("leaks", "stack", 0)
        if s["frames"][0]["line"] == line_of(script, "# BETA")
    ]
    assert any(f["function"] == "Thread._bootstrap" for f in beta[0]["frames"])


def test_a_renamed_thread_is_reported_under_its_last_name(tmp_path: Path) -> None:
    script = write_program(
        tmp_path,
        """
        import threading
        kept = [bytearray(1 << 20)]
        threading.current_thread().name = "renamed-main"
        more = [bytearray(1 << 20)]
        """,
    )
    output = tmp_path / "capture.bin"
    assert memhound("run", "-o", str(output), str(script)).returncode == 0
    names = {thread["name"] for thread in read_capture(output).threads}
    assert "renamed-main" in names
    assert "MainThread" not in names


FORK_PROGRAM = """
    import os

    def child_work():
        return [bytearray(1 << 20) for _ in range(6)]  # CHILD

    def parent_work():
        return [bytearray(1 << 20) for _ in range(2)]  # PARENT

    pid = os.fork()
    if pid == 0:
        kept = child_work()
    else:
        os.waitpid(pid, 0)
        kept = parent_work()
        print(pid)
"""


def test_fork_child_stops_tracing_by_default(tmp_path: Path) -> None:
    script = write_program(tmp_path, FORK_PROGRAM)
    output = tmp_path / "capture.bin"
    result = memhound("run", "-o", str(output), str(script))
    assert result.returncode == 0, result.stderr
    child_pid = int(result.stdout.split()[-1])
    assert not Path(f"{output}.{child_pid}").exists()
    capture = read_capture(output)
    assert capture.complete
    assert site_bytes(capture, "leaks", script, line_of(script, "# PARENT")) >= 2 * MIB
    assert site_bytes(capture, "leaks", script, line_of(script, "# CHILD")) == 0


def test_follow_fork_child_writes_its_own_capture(tmp_path: Path) -> None:
    script = write_program(tmp_path, FORK_PROGRAM)
    output = tmp_path / "capture.bin"
    result = memhound("run", "--follow-fork", "-o", str(output), str(script))
    assert result.returncode == 0, result.stderr
    child_pid = int(result.stdout.split()[-1])
    child = read_capture(f"{output}.{child_pid}")
    assert child.complete
    assert child.header["pid"] == child_pid
    assert site_bytes(child, "leaks", script, line_of(script, "# CHILD")) >= 6 * MIB
    assert site_bytes(child, "leaks", script, line_of(script, "# PARENT")) == 0
    parent = read_capture(output)
    assert site_bytes(parent, "leaks", script, line_of(script, "# PARENT")) >= 2 * MIB
    assert site_bytes(parent, "leaks", script, line_of(script, "# CHILD")) == 0


def test_sigkilled_run_is_readable_up_to_its_last_complete_chunk(tmp_path: Path) -> None:
    script = write_program(
        tmp_path,
        """
        import sys, time
        from memhound import _core

        kept = [bytearray(1 << 20) for _ in range(5)]  # BEFORE_FLUSH
        _core.flush_tracing()
        print("flushed", flush=True)
        while True:
            kept.append(str(len(kept)) * 10)
            time.sleep(0.001)
        """,
    )
    output = tmp_path / "capture.bin"
    process = subprocess.Popen(
        [sys.executable, "-m", "memhound", "run", "-o", str(output), str(script)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "flushed"
        time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    capture = read_capture(output)
    assert not capture.complete
    assert site_bytes(capture, "leaks", script, line_of(script, "# BEFORE_FLUSH")) >= 5 * MIB


def test_exit_code_argv_and_main_are_passed_through(tmp_path: Path) -> None:
    script = write_program(
        tmp_path,
        """
        import sys
        print(__name__, sys.argv)
        sys.exit(7)
        """,
    )
    result = memhound("run", "-o", str(tmp_path / "c.bin"), str(script), "one", "--two")
    assert result.returncode == 7
    assert result.stdout.strip() == f"__main__ {[str(script), 'one', '--two']}"
    assert f"memhound report {tmp_path / 'c.bin'}" in result.stderr.strip().splitlines()[-1]


def test_module_and_code_targets_run_like_python(tmp_path: Path) -> None:
    write_program(
        tmp_path,
        "import sys\nprint(__name__, sys.argv[1:])\nraise SystemExit(3)\n",
        "target_mod.py",
    )
    result = memhound("run", "-o", "m.bin", "-m", "target_mod", "x", cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (3, "__main__ ['x']")
    result = memhound(
        "run", "-o", "c.bin", "-c", "import sys; print(sys.argv); sys.exit(4)", "y", cwd=tmp_path
    )
    assert (result.returncode, result.stdout.strip()) == (4, "['-c', 'y']")


PICKLES_ITS_OWN_CLASS = """
import pickle, sys, __main__
class Point:
    pass
print(type(pickle.loads(pickle.dumps(Point()))).__name__, getattr(__main__, "__file__", None))
"""


def test_script_and_code_run_as_the_module_main(tmp_path: Path) -> None:
    # pickle (and multiprocessing) find the program's classes through sys.modules["__main__"].
    script = write_program(tmp_path, PICKLES_ITS_OWN_CLASS)
    result = memhound("run", "-o", "s.bin", str(script), cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, f"Point {script}"), result.stderr
    result = memhound("run", "-o", "c.bin", "-c", PICKLES_ITS_OWN_CLASS, cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, "Point None"), result.stderr


def test_code_imports_from_the_working_directory_as_under_python(tmp_path: Path) -> None:
    # Through the console script: there sys.path[0] is its own folder, not the working directory.
    console_script = Path(sys.executable).with_name("memhound")
    if not console_script.exists():
        pytest.skip("memhound's console script is not installed beside this python")
    write_program(tmp_path, "NAME = 'helper'\n", "helper_here.py")
    result = subprocess.run(
        [
            str(console_script),
            "run",
            "-o",
            "c.bin",
            "-c",
            "import helper_here; print(helper_here.NAME)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "helper"), result.stderr


def test_zip_application_and_package_directory_run_like_python(tmp_path: Path) -> None:
    import zipapp

    source = tmp_path / "app"
    source.mkdir()
    (source / "__main__.py").write_text("import sys\nprint('app', sys.argv[1:])\n")
    zipapp.create_archive(source, tmp_path / "app.pyz", interpreter="/usr/bin/env python3")
    for target in ("app.pyz", "app"):
        result = memhound("run", "-o", "z.bin", target, "x", cwd=tmp_path)
        assert (result.returncode, result.stdout.strip()) == (0, "app ['x']"), result.stderr


def test_default_output_name_is_in_the_working_directory(tmp_path: Path) -> None:
    script = write_program(tmp_path, "x = [1] * 10\n", "tiny.py")
    result = memhound("run", str(script), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = list(tmp_path.glob("memhound-tiny.*.bin"))
    assert len(written) == 1
    assert read_capture(written[0]).complete


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["missing_script.py"], "missing_script.py"),
        (["-m", "no_such_module_memhound_test"], "no_such_module_memhound_test"),
        (["-o", "/nonexistent-dir/x.bin", "-c", "pass"], "/nonexistent-dir/x.bin"),
        (["--sample-bytes", "-5", "-c", "pass"], "-5"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    tmp_path: Path, args: list[str], fragment: str
) -> None:
    result = memhound("run", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_tracker_misuse_raises_usage_errors(tmp_path: Path) -> None:
    script = write_program(
        tmp_path,
        """
        import sys
        import memhound
        from memhound import UsageError

        def expect_usage_error(action):
            try:
                action()
            except UsageError as exc:
                print("UsageError:", exc)
            else:
                print("no error")

        expect_usage_error(lambda: memhound.Tracker(sys.argv[1]).stop())
        expect_usage_error(lambda: memhound.Tracker("/nonexistent-dir/t.bin").start())
        expect_usage_error(lambda: memhound.Tracker(sys.argv[1], sample_bytes=0))
        with memhound.Tracker(sys.argv[1]) as tracker:
            expect_usage_error(tracker.start)
            expect_usage_error(memhound.Tracker(sys.argv[1] + ".other").start)
            kept = [bytearray(1 << 20) for _ in range(2)]  # INSIDE
        print("completed", tracker.completed_path)
        """,
    )
    output = tmp_path / "t.bin"
    result = run_python(script, str(output))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "UsageError: this Tracker is not started"
    assert lines[1].startswith(
        "UsageError: cannot write the capture file /nonexistent-dir/t.bin: No such file"
    )
    assert lines[2].startswith("UsageError: sample_bytes must be a positive integer")
    assert lines[3] == "UsageError: this Tracker is already started"
    assert lines[4] == f"UsageError: memhound is already tracing into {output}"
    assert lines[5] == f"completed {output}"
    assert site_bytes(read_capture(output), "leaks", script, line_of(script, "# INSIDE")) >= 2 * MIB


# 200-byte objects come from pymalloc itself and are sampled before they are allocated; 4 KiB
# objects pymalloc takes from the raw domain, and they are sampled once, under the guard. One
# sample per 16 KiB gives 2,000-5,000 samples here: the estimate's noise is about 2%.
@pytest.mark.parametrize(
    ("payload", "count"), [(200, 150000), (4096, 20000)], ids=["small", "large"]
)
def test_sampled_mode_estimates_true_totals(tmp_path: Path, payload: int, count: int) -> None:
    script = write_program(
        tmp_path,
        f"""
        def many():
            return [bytes({payload}) for _ in range({count})]  # ALLOCATE

        kept = many()
        """,
    )
    output = tmp_path / "capture.bin"
    assert (
        memhound("run", "--sample-bytes", "16384", "-o", str(output), str(script)).returncode == 0
    )
    capture = read_capture(output)
    assert capture.header["mode"] == "sampled"
    assert capture.header["sample_bytes"] == 16384
    # The bytes objects (payload plus object header) and the list holding them.
    true_bytes = count * (payload + 33) + count * 8
    estimate = site_bytes(capture, "leaks", script, line_of(script, "# ALLOCATE"))
    assert abs(estimate - true_bytes) < 0.15 * true_bytes, (estimate, true_bytes)
    # A sample, not every allocation.
    assert capture.event_count < count / 2


# A buffer grown by realloc, 8 MB in the end: in sampled mode reallocs of blocks that were not
# sampled and reach no sample point pass straight through, so the live buffer is found only if
# the realloc path samples and weighs like the others.
def test_sampled_mode_finds_a_buffer_grown_by_realloc(tmp_path: Path) -> None:
    script = write_program(
        tmp_path,
        """
        import sys

        def grow():
            buf = bytearray()
            for _ in range(20000):
                buf += b"x" * 400  # GROW
            return buf

        kept = grow()
        print(sys.getsizeof(kept) - sys.getsizeof(bytearray()))  # the buffer's allocated size
        """,
    )
    output = tmp_path / "capture.bin"
    done = memhound("run", "--sample-bytes", "65536", "-o", str(output), str(script))
    assert done.returncode == 0, done.stderr
    true_bytes = int(done.stdout)
    estimate = site_bytes(read_capture(output), "leaks", script, line_of(script, "# GROW"))
    assert abs(estimate - true_bytes) < 0.15 * true_bytes, (estimate, true_bytes)


SINGLE_THREAD_WORKLOAD = """
def workload():
    table = {f"key-{i}": [str(i) * (i % 40), i * 1.5, (i, str(i))] for i in range(60000)}
    blobs = [bytearray(i % 5000) for i in range(3000)]
    garbage = [list(range(50)) for _ in range(20000)]
    del garbage
    return table, blobs
"""

# Blocks made in one thread are freed in another and their addresses reused at once, with the
# GIL changing hands every few microseconds: the capture's order must still put each free after
# its allocation and before the address's next allocation.
HANDOFF_WORKLOAD = """
import queue, threading

def workload():
    sys.setswitchinterval(1e-5)
    handoff = queue.Queue(maxsize=64)
    kept = []

    def produce(tag):
        for i in range(20000):
            handoff.put([tag, str(i) * (i % 30), (i, i + 1)])
        handoff.put(None)

    def consume():
        finished = 0
        while finished < 3:
            item = handoff.get()
            if item is None:
                finished += 1
            elif item[2][0] % 7 == 0:
                kept.append(item)

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(3)]
    threads.append(threading.Thread(target=consume))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return kept, [bytearray(4096) for _ in range(3000)]
"""


@pytest.mark.parametrize(
    "workload", [SINGLE_THREAD_WORKLOAD, HANDOFF_WORKLOAD], ids=["one-thread", "handoff"]
)
def test_live_bytes_agree_with_tracemalloc(tmp_path: Path, workload: str) -> None:
    script = tmp_path / "agree.py"
    script.write_text(
        "import sys, tracemalloc\nimport memhound\n"
        + workload
        + textwrap.dedent(
            """
            # tracemalloc first: it keeps one trace per allocation in memory it takes from the
            # allocator below it, which would be memhound's if memhound started first.
            tracemalloc.start()
            tracker = memhound.Tracker(sys.argv[1]).start()
            kept = workload()
            traced = tracemalloc.get_traced_memory()[0]
            tracker.stop()
            tracemalloc.stop()
            print(traced)
            """
        )
    )
    output = tmp_path / "capture.bin"
    result = run_python(script, str(output))
    assert result.returncode == 0, result.stderr
    tracemalloc_bytes = int(result.stdout.strip())
    memhound_bytes = read_capture(output).live_bytes()
    assert tracemalloc_bytes > 10 * MIB
    assert abs(memhound_bytes - tracemalloc_bytes) <= 0.02 * tracemalloc_bytes, (
        memhound_bytes,
        tracemalloc_bytes,
    )


def test_tracing_is_off_after_stop_and_restartable(tmp_path: Path) -> None:
    script = write_program(
        tmp_path,
        """
        import sys
        from memhound import _core

        for round in range(2):
            path = f"{sys.argv[1]}.{round}"
            _core.start_tracing(path)
            kept = [bytearray(1 << 20) for _ in range(round + 1)]  # ROUND
            assert _core.is_tracing() and _core.tracing_path() == path
            _core.stop_tracing()
        assert not _core.is_tracing() and _core.tracing_path() is None
        after = [bytearray(1 << 20) for _ in range(3)]
        """,
    )
    output = tmp_path / "r.bin"
    result = run_python(script, str(output))
    assert result.returncode == 0, result.stderr
    line = line_of(script, "# ROUND")
    for round_ in range(2):
        capture = read_capture(f"{output}.{round_}")
        assert (round_ + 1) * MIB <= site_bytes(capture, "leaks", script, line) < (round_ + 2) * MIB


def test_write_failure_stops_tracing_with_one_warning_and_the_program_goes_on(
    tmp_path: Path,
) -> None:
    script = write_program(
        tmp_path,
        """
        import resource, signal
        # The capture file may not grow past 64 KiB: the writer fails mid-run.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, resource.RLIM_INFINITY))
        kept = [str(i) * 3 for i in range(400000)]
        print("done", len(kept))
        """,
    )
    result = memhound("run", "-o", str(tmp_path / "capture.bin"), str(script))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "done 400000"
    warnings = [line for line in result.stderr.splitlines() if "tracing stopped" in line]
    assert len(warnings) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_device_fails_at_start_with_one_line(tmp_path: Path) -> None:
    result = memhound("run", "-o", "/dev/full", "-c", "pass", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "/dev/full" in lines[0], result.stderr
