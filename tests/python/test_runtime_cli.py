"""`memhound runtime` end to end: runs a program with the collector watched, prints the
collector's and pymalloc's figures when it ends, also by sys.exit or an exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_contract import RUNTIME_GC_KEYS, RUNTIME_KEYS, RUNTIME_PYMALLOC_KEYS, run_memhound

PROGRAM = """
import gc, sys
class Node:
    def __init__(self):
        self.me = self
for _ in range(20_000):
    Node()
gc.collect()
gc.set_debug(gc.DEBUG_SAVEALL)  # the next collection keeps what it finds in gc.garbage
kept, lost = Node(), Node()
kept_id = id(kept)
del kept, lost
gc.collect()
gc.set_debug(0)
KEEP = [o for o in gc.garbage if id(o) == kept_id]
print("program ran")
if len(sys.argv) > 1 and sys.argv[1] == "raise":
    raise ValueError("the program failed")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(PROGRAM)
    return path


def json_report(stdout: str) -> dict[str, Any]:
    return json.loads(stdout[stdout.index("\n{") + 1 :] if not stdout.startswith("{") else stdout)


def test_text_report_shows_the_collector_and_pymalloc(script: Path) -> None:
    result = run_memhound("runtime", str(script))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("program ran\n")
    assert f"memhound runtime: {script} ended with exit code 0" in out
    assert "collector (enabled), watched for" in out
    assert "gen collections  collected uncollectable threshold  count pause total" in out
    assert "gen 0 pauses: " in out
    assert "gc.garbage holds" in out and "__main__.Node" in out
    assert "(back to itself)" in out  # the collected cycle, described by its cycle
    assert "__main__.KEEP[0]" in out  # the one the program keeps, by its path
    assert "pymalloc: " in out and "fragmentation" in out and "process RSS" in out


def test_json_report_and_exit_code_passthrough(script: Path) -> None:
    result = run_memhound("runtime", "--json", "-n", "50", str(script), "7")
    assert result.returncode == 7, result.stderr
    report = json_report(result.stdout)
    assert set(report) == RUNTIME_KEYS
    assert report["exit_code"] == 7 and report["program"] == str(script)
    gc_figures, pymalloc = report["gc"], report["pymalloc"]
    assert set(gc_figures) == RUNTIME_GC_KEYS and set(pymalloc) == RUNTIME_PYMALLOC_KEYS
    assert gc_figures["scope"] == "watch"
    # 20,000 cycles: at least 20000 / threshold collections, every Node collected
    assert gc_figures["collections"] >= 20_000 // gc_figures["generations"][0]["threshold"]
    assert gc_figures["collected"] >= 20_000
    assert gc_figures["generations"][2]["pauses"]["count"] >= 1
    types = {row["type"]: row["count"] for row in gc_figures["garbage"]["by_type"]}
    assert types["__main__.Node"] >= 1
    paths = [obj["path"] for obj in gc_figures["garbage"]["objects"]]
    assert "__main__.KEEP[0]" in paths
    assert pymalloc["in_use"] is True and 0 <= pymalloc["fragmentation"] <= 1
    assert pymalloc["held_bytes"] == pymalloc["arenas"]["held_bytes"] > 0
    assert pymalloc["memory"]["rss_bytes"] > 0


def test_an_exception_is_reported_then_exits_1(script: Path) -> None:
    result = run_memhound("runtime", str(script), "raise")
    assert result.returncode == 1
    assert "ValueError: the program failed" in result.stderr
    assert "ended with exit code 1" in result.stdout and "pymalloc: " in result.stdout


def test_code_and_module_targets(tmp_path: Path) -> None:
    code = run_memhound("runtime", "--json", "-c", "import gc; gc.collect(); gc.collect()")
    assert code.returncode == 0, code.stderr
    report = json_report(code.stdout)
    assert report["program"] == "-c <code>"
    assert report["gc"]["generations"][2]["collections"] >= 2
    (tmp_path / "runtimemod.py").write_text(PROGRAM)
    module = run_memhound("runtime", "-m", "runtimemod", "3", cwd=tmp_path)
    assert module.returncode == 3, module.stderr
    assert "__main__.KEEP[0]" in module.stdout


def test_pythonmalloc_malloc_says_pymalloc_is_not_in_use() -> None:
    result = run_memhound(
        "runtime", "-c", "x = [str(i) for i in range(1000)]", env={"PYTHONMALLOC": "malloc"}
    )
    assert result.returncode == 0, result.stderr
    assert "pymalloc is not in use in this process" in result.stdout
    assert "collector (enabled), watched for" in result.stdout


def test_help_describes_the_command() -> None:
    result = run_memhound("runtime", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: memhound runtime [-h] [--json] [-n N]")
    for text in ("-m MODULE", "--json", "gc.garbage", "fragmentation", "exit code"):
        assert text in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["runtime", "missing.py"], "can't open file 'missing.py'"),
        (["runtime", "-m", "no_such_module_here"], "no module named"),
        (["runtime"], "nothing to run"),
        (["runtime", "-n", "-1", "x.py"], "expected a number >= 0"),
        (["runtime", "--bogus", "x.py"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run_memhound(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_program_sees_its_own_argv_and_one_callback(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import gc, sys\n"
        "print(sys.argv)\n"
        "print(sum(1 for cb in gc.callbacks if 'memhound' in repr(cb)))\n"
    )
    result = run_memhound("runtime", str(probe), "--json", "a")
    assert result.returncode == 0, result.stderr
    argv_line, callbacks_line = result.stdout.splitlines()[:2]
    assert argv_line == repr([str(probe), "--json", "a"])
    assert callbacks_line == "1"  # memhound's one callback, while the program runs
    assert "memhound runtime:" in result.stdout  # the report follows the program's output
