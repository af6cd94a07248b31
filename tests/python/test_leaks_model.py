"""The leak report model: JSON schema and terminal rendering, on fabricated reports."""

from __future__ import annotations

import json

import pytest
from cli_contract import LEAK_KEYS, REPORT_KEYS

from memhound._errors import UsageError
from memhound._leaks._model import (
    CyclicGarbage,
    Frame,
    Leak,
    LeakReport,
    PathEdge,
    ResourceCounts,
)
from memhound._leaks._render import human_bytes, render_text


def fabricated_report(source_file: str) -> LeakReport:
    leak = Leak(
        kinds=["closure", "global"],
        type="function",
        count_per_iteration=1.0,
        bytes_per_iteration=2650.0,
        allocated_at=[Frame(source_file, 2, "schedule"), Frame(source_file, 5, "handle")],
        retained_by="app._timers[12].__closure__[0]",
        path=[PathEdge("module_global", "dict"), PathEdge("dict_key", "function")],
    )
    garbage = CyclicGarbage("Node", 3.0, 480.0, [Frame(source_file, 5, "handle")])
    resources = ResourceCounts({"fd": 4}, {"fd": 4, "sqlite3.Connection": 30})
    return LeakReport("app.py:handle", 30, 3, 1.25, [leak], [garbage], resources, 12.0)


def test_json_has_exactly_the_documented_keys(tmp_path):
    report = fabricated_report(str(tmp_path / "app.py")).to_json()
    assert set(report) == REPORT_KEYS
    (leak,) = report["leaks"]
    assert set(leak) == LEAK_KEYS
    assert leak["allocated_at"][0] == {
        "file": str(tmp_path / "app.py"),
        "line": 2,
        "function": "schedule",
    }
    assert leak["path"] == [
        {"edge": "module_global", "type": "dict"},
        {"edge": "dict_key", "type": "function"},
    ]
    assert report["cyclic_garbage"][0]["objects_per_iteration"] == 3.0
    assert report["resources"] == {
        "before": {"fd": 4},
        "after": {"fd": 4, "sqlite3.Connection": 30},
    }
    json.dumps(report)  # serialisable as is


def test_text_report_shows_kinds_growth_site_source_and_path(tmp_path):
    source = tmp_path / "app.py"
    source.write_text("def schedule(key, data):\n    def fire(): return sum(data)\n")
    text = render_text(fabricated_report(str(source)))
    assert "1 leak(s) found" in text
    assert "[closure, global] function" in text
    assert "+2.6 KiB per iteration" in text
    assert f"schedule ({source}:2)" in text
    assert "def fire(): return sum(data)" in text
    assert "retained by   app._timers[12].__closure__[0]" in text
    assert "Node: 3 objects" in text
    assert "collector (12 objects per iteration" in text
    assert "sqlite3.Connection 0 -> 30" in text


def test_clean_report_says_so():
    report = LeakReport("x:y", 10, 1, 0.5, [], [], ResourceCounts({"fd": 3}, {"fd": 3}))
    assert not report.leaked
    assert "no leaks found" in str(report)
    assert report.resources.grown() == {}


def test_human_bytes():
    assert human_bytes(12) == "12 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(3 * 1024**2) == "3.0 MiB"
    assert human_bytes(5 * 1024**3) == "5.0 GiB"


def test_sizes_parse_like_memory_is_counted():
    from memhound._leaks._limits import parse_size

    assert parse_size("24 MB") == 24 * 1024**2
    assert parse_size("512KB") == 512 * 1024
    assert parse_size("1.5 GiB") == int(1.5 * 1024**3)
    assert parse_size(1000) == 1000
    assert parse_size("100") == 100
    with pytest.raises(UsageError):
        parse_size("lots")
