"""Bounded containers still filling are reported apart, never as leaks; their unbounded twins
are leaks (subprocesses: `memhound leaks` on the units of bounded_cases.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_contract import run_memhound

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bounded_cases.py")


def _check(unit: str, tmp_path: Path) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    result = run_memhound("leaks", f"{CASES}:{unit}", "--iterations", "30", "--json", str(out))
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(out.read_text())


@pytest.mark.parametrize(
    "unit, container, limit",
    [
        ("fill_urlsplit", "lru_cache urllib.parse.urlsplit", 128),
        ("fill_re", "re._cache", 512),
        ("fill_deque", "deque(maxlen=100)", 100),
        ("fill_lru", "lru_cache bounded_cases.bounded_lookup", 256),
        ("fill_recent", "bounded_cases.Recent (capacity=200)", 200),
        ("fill_sqlalchemy_lru", "sqlalchemy.util._collections.LRUCache (capacity=300)", 300),
    ],
)
def test_a_bounded_container_filling_is_no_leak(
    tmp_path: Path, unit: str, container: str, limit: int
):
    code, report = _check(unit, tmp_path)
    assert code == 0 and report["leaks"] == []
    assert report["bounded_caches"], report
    entry = report["bounded_caches"][0]
    assert entry["container"].startswith(container)
    assert entry["limit"] == limit and 30 <= entry["entries"] <= limit


@pytest.mark.parametrize(
    "unit, kind", [("leak_deque", "global"), ("leak_cache", "cache"), ("leak_recent", "global")]
)
def test_the_unbounded_twin_is_a_leak(tmp_path: Path, unit: str, kind: str):
    code, report = _check(unit, tmp_path)
    assert code == 1
    assert kind in report["leaks"][0]["kinds"]
    assert report["bounded_caches"] == []


def test_the_text_report_lists_bounded_caches_apart(tmp_path: Path):
    result = run_memhound("leaks", f"{CASES}:fill_lru", "--iterations", "30")
    assert result.returncode == 0
    assert "no leaks found" in result.stdout
    assert "bounded caches filling (not leaks: each stops at its bound):" in result.stdout
    assert "lru_cache bounded_cases.bounded_lookup: " in result.stdout
    assert " of 256 entries, stops at its bound" in result.stdout


def test_objects_only_a_weak_registry_holds_are_no_leak_and_a_dict_registry_is(tmp_path: Path):
    code, report = _check("fill_weak_registry", tmp_path)
    assert code == 0 and report["leaks"] == []
    code, report = _check("leak_registry", tmp_path)
    assert code == 1
    assert report["leaks"][0]["retained_by"].startswith("bounded_cases.ALL_SESSIONS[")
