"""`memhound heap` end to end: runs a program, prints the census and retainers at exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_contract import run_memhound

PROGRAM = """
import sys
class Record:
    def __init__(self, i):
        self.payload = "x" * 1000 + str(i)
        self.history = [i] * 50
CACHE = {"records": [Record(i) for i in range(5000)]}
print("program ran")
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(PROGRAM)
    return path


def test_text_report_shows_census_and_the_path_of_the_top_retainer(script: Path) -> None:
    result = run_memhound("heap", "-n", "12", str(script))
    assert result.returncode == 0, result.stderr
    assert "program ran" in result.stdout
    assert "heap at exit:" in result.stdout
    assert "__main__.Record " in result.stdout
    assert "__main__.CACHE['records']" in result.stdout


def test_json_report_and_exit_code_passthrough(script: Path) -> None:
    result = run_memhound("heap", "--json", "-n", "3", str(script), "7")
    assert result.returncode == 7
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert report["objects"] > 5000 and len(report["by_type"]) == 3
    records = [row for row in report["largest"] if row["path"] == "__main__.CACHE['records']"]
    assert (
        records
        and records[0]["root_kind"] == "module"
        and records[0]["retained_bytes"] > 5000 * 150
    )


def test_code_and_module_targets(tmp_path: Path) -> None:
    code = run_memhound("heap", "-n", "3", "-c", "data = [bytearray(100000) for _ in range(100)]")
    assert code.returncode == 0, code.stderr
    assert "bytearray " in code.stdout
    assert "__main__.data" in code.stdout  # -c code runs in the module __main__, as under python
    (tmp_path / "heapmod.py").write_text(PROGRAM)
    module = run_memhound("heap", "-m", "heapmod", cwd=tmp_path)
    assert module.returncode == 0, module.stderr
    assert "__main__.CACHE['records']" in module.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["heap", "missing.py"], "can't open file 'missing.py'"),
        (["heap", "-m", "no_such_module_here"], "no module named"),
        (["heap"], "nothing to run"),
        (["heap", "-n", "0", "x.py"], "positive integer"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run_memhound(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
