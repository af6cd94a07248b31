"""`memhound leaks`: exit codes, the terminal report and the JSON schema (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from cli_contract import LEAK_KEYS, REPORT_KEYS, run_memhound

CASES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "leak_cases.py")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def memhound(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_memhound("leaks", *args, cwd=cwd)


def test_leaky_target_exits_1_with_a_report_and_json(tmp_path):
    out = tmp_path / "report.json"
    result = memhound(f"{CASES_FILE}:audit_event", "--iterations", "10", "--json", str(out))
    assert result.returncode == 1, result.stderr
    assert "default_argument" in result.stdout
    assert "allocated at" in result.stdout
    report = json.loads(out.read_text())
    assert set(report) == REPORT_KEYS
    assert report["iterations"] == 10
    assert report["warmup"] == 3
    leak = report["leaks"][0]
    assert set(leak) == LEAK_KEYS
    assert leak["kinds"][0] == "default_argument"
    assert leak["bytes_per_iteration"] > 256
    assert all(set(frame) == {"file", "line", "function"} for frame in leak["allocated_at"])
    assert leak["allocated_at"][0]["function"] == "audit_event"
    assert all(set(edge) == {"edge", "type"} for edge in leak["path"])
    assert "fd" in report["resources"]["before"]


def test_clean_target_exits_0():
    result = memhound(f"{CASES_FILE}:temporaries", "--iterations", "8", "--warmup", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no leaks found" in result.stdout


def test_module_target_and_json_on_stdout():
    result = memhound(
        "leak_cases:warm_cache", "--iterations", "6", "--json", "-", cwd=os.path.dirname(CASES_FILE)
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["target"] == "leak_cases:warm_cache"


def test_min_bytes_drops_small_growth():
    result = memhound(f"{CASES_FILE}:remember_tokens", "--iterations", "8", "--min-bytes", "100000")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "target, extra",
    [
        ("nowhere.py:handle", []),
        (f"{CASES_FILE}:no_such_function", []),
        ("handle_without_module", []),
        (f"{CASES_FILE}:parse", []),  # raises ValueError on every call
        (f"{CASES_FILE}:temporaries", ["--iterations", "1"]),
    ],
)
def test_usage_errors_exit_2_with_one_line(target: str, extra: list[str]):
    result = memhound(target, *extra)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("memhound: error:")


def test_help_lists_the_options():
    result = memhound("--help")
    assert result.returncode == 0
    for option in ("--iterations", "--warmup", "--json", "--min-bytes"):
        assert option in result.stdout


def test_demo_service_reports_several_kinds(tmp_path):
    out = tmp_path / "demo.json"
    demo = os.path.join(REPO, "examples", "demo_service.py")
    result = memhound(f"{demo}:handle_request", "--iterations", "30", "--json", str(out))
    assert result.returncode == 1, result.stderr
    report = json.loads(out.read_text())
    kinds = {kind for leak in report["leaks"] for kind in leak["kinds"]}
    assert {"global", "closure", "resource", "listener"} <= kinds
    assert report["cyclic_garbage"], "the demo's reclaimed trees are reported apart"
