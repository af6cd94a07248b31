"""Leak checks of a Flask + SQLAlchemy application (web_app.py) driven by its test client:
the frameworks' own caches filling are no leak; the planted one is found at the application's
line, held by the program (subprocesses: `memhound leaks` on web_app.py's units)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_contract import run_memhound

pytest_plugins = ["pytester"]

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "web_app.py")


def _check(unit: str, tmp_path: Path) -> tuple[int, dict, str]:
    out = tmp_path / "report.json"
    result = run_memhound("leaks", f"{APP}:{unit}", "--json", str(out))
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(out.read_text()), result.stdout


@pytest.mark.parametrize("unit", ["tidy", "items"])
def test_clean_endpoints_are_clean_at_the_default_iterations(tmp_path: Path, unit: str):
    code, report, _ = _check(unit, tmp_path)
    assert code == 0, report["leaks"]
    assert report["leaks"] == [] and report["iterations"] == 30
    # werkzeug parses every URL through urllib's bounded lru_cache: listed apart, not a leak
    containers = {entry["container"] for entry in report["bounded_caches"]}
    assert "lru_cache urllib.parse.urlsplit" in containers


def test_the_planted_leak_is_the_one_leak_at_the_applications_line(tmp_path: Path):
    code, report, text = _check("leaky", tmp_path)
    assert code == 1
    (leak,) = report["leaks"]
    assert leak["kinds"] == ["global"] and leak["type"] == "dict"
    assert leak["retained_by"].startswith("web_app.AUDIT[")
    assert leak["held_by"] == "program" and leak["holder_module"] == "web_app"
    frames = [(Path(f["file"]).name, f["function"]) for f in leak["allocated_at"]]
    assert ("web_app.py", "audit_view") in frames
    # the application's frame is shown even when library frames come first
    assert "audit_view (" in text and "AUDIT.append(request.get_json())" in text
    assert "held by       the program (web_app)" in text


APP_TESTS = """
import pytest
from web_app import app


@pytest.fixture
def client():
    return app.test_client()


@pytest.mark.parametrize("n", [1, 2])
def test_tidy(client, n):
    assert client.get(f"/tidy/{n}?q=x").status_code == 200


def test_items(client):
    assert client.get("/items/3").json["count"] >= 0


def test_audit(client):
    assert client.post("/audit/1", json={"n": 1, "payload": "x" * 100}).json == {"ok": True}
"""


def test_the_plugin_gives_the_same_verdicts_on_the_app(pytester):
    pytester.makeconftest(f"import sys; sys.path.insert(0, {os.path.dirname(APP)!r})")
    pytester.makepyfile(test_app=APP_TESTS)
    report = pytester.path / "verdicts.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--memhound-leaks", f"--memhound-leaks-json={report}"
    )
    result.assert_outcomes(passed=3, failed=1)
    verdicts = {v["test"].split("::")[-1]: v for v in json.loads(report.read_text())["tests"]}
    assert {name: v["status"] for name, v in verdicts.items()} == {
        "test_tidy[1]": "clean",
        "test_tidy[2]": "clean",
        "test_items": "clean",
        "test_audit": "leaking",
    }
    (leak,) = verdicts["test_audit"]["report"]["leaks"]
    assert leak["retained_by"].startswith("web_app.AUDIT[") and leak["held_by"] == "program"
