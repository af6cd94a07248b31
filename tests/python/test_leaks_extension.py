"""More rounds when a verdict is ambiguous, within --budget; and leaks held by the program
ranked before those only a library holds (subprocesses: `memhound leaks` on the units of
extension_cases.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cli_contract import run_memhound

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "extension_cases.py")


def _check(unit: str, tmp_path: Path, *options: str) -> tuple[int, dict, str]:
    out = tmp_path / "report.json"
    result = run_memhound("leaks", f"{CASES}:{unit}", "--json", str(out), *options)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(out.read_text()), result.stdout


def test_a_memo_that_evicts_at_its_own_limit_is_clean_after_more_rounds(tmp_path: Path):
    code, report, text = _check("bounded_memo", tmp_path)
    assert code == 0 and report["leaks"] == []
    extended = report["extended"]
    assert extended["asked"] == 30 and extended["settled"] is True
    assert extended["rounds"][0] == 30 and len(extended["rounds"]) > 1
    assert "_price_cache" in extended["reason"]
    assert report["iterations"] == extended["rounds"][-1]
    assert "no leaks found" in text and "because growth into a cache" in text


def test_a_memo_that_keeps_growing_is_a_leak_that_says_it_kept_growing(tmp_path: Path):
    code, report, text = _check("unbounded_memo", tmp_path)
    assert code == 1
    (leak,) = report["leaks"]
    assert "cache" in leak["kinds"] and leak["retained_by"].startswith("extension_cases._memo[")
    extended = report["extended"]
    assert extended["settled"] is False and sum(extended["rounds"]) <= 8 * 30
    assert "it still grew in the last round" in text


def test_a_zero_budget_runs_only_the_asked_iterations(tmp_path: Path):
    code, report, _ = _check("unbounded_memo", tmp_path, "--budget", "0")
    assert code == 1
    assert report["extended"] is None and report["iterations"] == 30 and report["warmup"] == 3


def test_a_bad_budget_is_one_line_and_exit_2():
    result = run_memhound("leaks", f"{CASES}:bounded_memo", "--budget", "soon")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "bad duration 'soon'" in line


def test_the_programs_leak_comes_before_the_one_only_a_library_holds(tmp_path: Path):
    code, report, text = _check("program_and_library", tmp_path)
    assert code == 1
    first, second = report["leaks"]
    assert first["retained_by"].startswith("extension_cases.SEEN[")
    assert (first["held_by"], first["holder_module"]) == ("program", "extension_cases")
    assert second["retained_by"].startswith("logging.")
    assert (second["held_by"], second["holder_module"]) == ("library", "logging")
    assert "held by       a library (logging)" in text
    assert report["extended"] is None


def test_a_library_registry_holding_the_programs_object_shows_that_object(tmp_path: Path):
    code, report, _ = _check("handler_per_call", tmp_path)
    assert code == 1
    (leak,) = report["leaks"]
    assert leak["type"] == "extension_cases.AuditHandler" and "listener" in leak["kinds"]
    assert leak["retained_by"].startswith("logging.Logger.manager.loggerDict['svc'].handlers[")
    assert (leak["held_by"], leak["holder_module"]) == ("program", "extension_cases")
