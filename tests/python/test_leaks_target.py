"""TARGET resolution and the calling convention of the unit of work (no tracing)."""

from __future__ import annotations

import sys

import pytest

from memhound._errors import UsageError
from memhound._leaks._target import resolve_target, unit_from_callable


@pytest.fixture
def unit_file(tmp_path):
    source = tmp_path / "svc_unit_target.py"
    source.write_text(
        "CALLS = []\n"
        "def with_arg(i):\n    CALLS.append(i)\n"
        "def without():\n    CALLS.append('none')\n"
        "def two(a, b):\n    pass\n"
        "async def coro(i):\n    CALLS.append(('async', i))\n"
        "class Service:\n    @staticmethod\n    def handle():\n        CALLS.append('static')\n"
        "NOT_CALLABLE = 3\n"
        "def boom(i):\n    raise KeyError('missing')\n"
    )
    yield source
    sys.modules.pop("svc_unit_target", None)


def test_file_target_gets_the_iteration_number(unit_file):
    unit = resolve_target(f"{unit_file}:with_arg")
    unit(7)
    module = sys.modules["svc_unit_target"]
    assert module.CALLS == [7]
    assert unit.name == f"{unit_file}:with_arg"


def test_function_without_parameters_is_called_without_argument(unit_file):
    resolve_target(f"{unit_file}:without")(3)
    resolve_target(f"{unit_file}:Service.handle")(4)
    assert sys.modules["svc_unit_target"].CALLS == ["none", "static"]


def test_async_function_is_run_to_completion(unit_file):
    resolve_target(f"{unit_file}:coro")(5)
    assert sys.modules["svc_unit_target"].CALLS == [("async", 5)]


def test_module_target(tmp_path, monkeypatch):
    package = tmp_path / "leakpkg_t"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "work.py").write_text("SEEN = []\ndef handle(i):\n    SEEN.append(i)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    resolve_target("leakpkg_t.work:handle")(1)
    assert sys.modules["leakpkg_t.work"].SEEN == [1]


@pytest.mark.parametrize(
    "target, message",
    [
        ("no_colon_here", "bad target"),
        ("missing_file.py:handle", "no such file"),
        ("no_such_module_xyz:handle", "no module named 'no_such_module_xyz'"),
        ("{file}:nope", "no attribute 'nope'"),
        ("{file}:NOT_CALLABLE", "is not callable"),
        ("{file}:two", "must take no argument or one"),
    ],
)
def test_bad_targets_are_usage_errors(unit_file, target, message):
    with pytest.raises(UsageError, match=message):
        resolve_target(target.format(file=unit_file))


def test_import_failure_is_one_line(tmp_path):
    broken = tmp_path / "broken_unit_t.py"
    broken.write_text("import no_such_dependency_xyz\n")
    with pytest.raises(UsageError, match="ModuleNotFoundError") as info:
        resolve_target(f"{broken}:handle")
    assert "\n" not in str(info.value)
    assert "broken_unit_t" not in sys.modules


def test_errors_of_a_cli_unit_become_usage_errors_but_api_units_keep_them(unit_file):
    with pytest.raises(UsageError, match="raised KeyError"):
        resolve_target(f"{unit_file}:boom")(0)
    module = sys.modules["svc_unit_target"]
    with pytest.raises(KeyError):
        unit_from_callable(module.boom)(0)
