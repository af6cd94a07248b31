"""`memhound leaks tests/test_x.py::TestCase::test_method`: one test's leak check, through the
pytest plugin (any style pytest runs: functions, classes, unittest.TestCase, parametrized ids).
pytest prints the test's run and the leak report; the verdict decides the exit code."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from memhound._errors import UsageError
from memhound._testing._verdict import CLEAN, LEAKING


def is_test_id(target: str) -> bool:
    return "::" in target


def check_test_id(
    test_id: str,
    iterations: int,
    json_path: str | None,
    budget: float,
    html_path: str | None = None,
) -> int:
    """0 when the test is clean, 1 when it leaks; a UsageError when it was not checked."""
    import pytest

    with tempfile.TemporaryDirectory(prefix="memhound-test-") as folder:
        verdicts_path = os.path.join(folder, "verdicts.json")
        arguments = [
            test_id,
            "-p",
            "no:cacheprovider",
            "--memhound-leaks",
            f"--memhound-iterations={iterations}",
            f"--memhound-budget={budget}",
            f"--memhound-leaks-json={verdicts_path}",
        ]
        pytest.main(arguments)
        verdicts = _read(verdicts_path)
    if not verdicts:
        raise UsageError(f"no test ran for {test_id!r} (is the test id right?)")
    worst = max(verdicts, key=lambda verdict: verdict["status"] == LEAKING)
    if json_path:
        _write(worst.get("report", {}), json_path)
    if html_path and worst.get("report"):
        from memhound.report.html import render_leaks_html, write_html

        write_html(render_leaks_html(worst["report"]), html_path)
    if worst["status"] == LEAKING:
        return 1
    unchecked = [v for v in verdicts if v["status"] != CLEAN]
    if unchecked:
        first = unchecked[0]
        status = first["status"].replace("_", " ")
        raise UsageError(f"{first['test']} was {status}: {first.get('reason', '')}")
    return 0


def _read(path: str) -> list[dict[str, Any]]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return list(json.load(handle)["tests"])


def _write(report: dict[str, Any], path: str) -> None:
    text = json.dumps(report, indent=2) + "\n"
    if path == "-":
        print(text, end="")
        return
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
