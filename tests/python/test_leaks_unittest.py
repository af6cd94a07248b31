"""`memhound unittest` (a unittest suite with a leak check per test) and `memhound leaks` given a
pytest test id: exit codes, verdicts, fixtures of wider scope set up once (subprocesses)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from cli_contract import run_memhound

SUITE = """
import unittest

KEEP = []
EVENTS = []


def setUpModule():
    EVENTS.append("module")


class Service(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        EVENTS.append("class")

    def setUp(self):
        self.cache = {}

    def test_clean(self):
        for n in range(3):
            with self.subTest(n=n):
                self.cache[n] = str(n)
                self.assertEqual(self.cache[n], str(n))

    def test_leaky(self):
        KEEP.append([0] * 1000)

    def test_wider_fixtures_set_up_once(self):
        self.assertEqual((EVENTS.count("module"), EVENTS.count("class")), (1, 1))

    def test_only_once(self):
        EVENTS.append("once")
        self.assertEqual(EVENTS.count("once"), 1)

    @unittest.skip("not here")
    def test_skipped(self):
        pass
"""


def _suite(folder: Path, source: str = SUITE) -> None:
    (folder / "test_service.py").write_text(textwrap.dedent(source))


def test_unittest_suite_finds_the_leak_and_lists_the_rest(tmp_path: Path) -> None:
    _suite(tmp_path)
    verdicts = tmp_path / "verdicts.json"
    result = run_memhound(
        "unittest", "--iterations", "8", "--json", str(verdicts), "test_service", cwd=str(tmp_path)
    )
    assert result.returncode == 1, result.stderr
    assert "FAIL: test_leaky" in result.stderr
    assert "[global] list" in result.stderr and "test_service.KEEP[" in result.stderr
    assert "KEEP.append([0] * 1000)" in result.stderr
    assert (
        "memhound leaks: 3 checked (1 leaking), 1 not repeatable, 1 not checked (skipped 1)"
        in result.stderr
    )
    assert "not repeatable: test_service.Service.test_only_once: failed: AssertionError" in (
        result.stderr
    )
    data = json.loads(verdicts.read_text())
    statuses = {v["test"].rsplit(".", 1)[-1]: v["status"] for v in data["tests"]}
    assert statuses == {
        "test_clean": "clean",
        "test_leaky": "leaking",
        "test_wider_fixtures_set_up_once": "clean",
        "test_only_once": "not_repeatable",
        "test_skipped": "not_checked",
    }


def test_unittest_clean_suite_exits_0_and_strict_fails_the_unrepeatable(tmp_path: Path) -> None:
    _suite(tmp_path, SUITE.replace("KEEP.append([0] * 1000)", "[0] * 1000"))
    clean = run_memhound("unittest", "--iterations", "6", "test_service", cwd=str(tmp_path))
    assert clean.returncode == 0, clean.stderr
    strict = run_memhound(
        "unittest", "--iterations", "6", "--strict", "test_service", cwd=str(tmp_path)
    )
    assert strict.returncode == 1
    assert "the test is not repeatable (first failure: failed: AssertionError" in strict.stderr


def test_unittest_takes_unittests_own_arguments(tmp_path: Path) -> None:
    _suite(tmp_path)
    result = run_memhound(
        "unittest", "--iterations", "6", "discover", "-k", "test_clean", cwd=str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert "Ran 1 test" in result.stderr
    assert "memhound leaks: 1 checked (0 leaking)" in result.stderr


def test_unittest_bad_option_is_one_line(tmp_path: Path) -> None:
    result = run_memhound("unittest", "--iterations", "many", cwd=str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "memhound: error: --iterations takes a whole number (got 'many')"
    )


def test_leaks_given_a_test_id_checks_that_test(tmp_path: Path) -> None:
    _suite(tmp_path)
    report = tmp_path / "leak.json"
    leaky = run_memhound(
        "leaks",
        "test_service.py::Service::test_leaky",
        "--iterations",
        "8",
        "--json",
        str(report),
        cwd=str(tmp_path),
    )
    assert leaky.returncode == 1, leaky.stdout + leaky.stderr
    (leak,) = json.loads(report.read_text())["leaks"]
    assert (
        leak["kinds"] == ["global"] and leak["allocated_at"][0]["function"] == "Service.test_leaky"
    )
    clean = run_memhound("leaks", "test_service.py::Service::test_clean", cwd=str(tmp_path))
    assert clean.returncode == 0, clean.stdout
    unrepeatable = run_memhound(
        "leaks", "test_service.py::Service::test_only_once", cwd=str(tmp_path)
    )
    assert unrepeatable.returncode == 2
    assert unrepeatable.stderr.strip().endswith(
        "test_only_once was not repeatable: call failed: AssertionError: 2 != 1"
    )
    missing = run_memhound("leaks", "test_service.py::Service::test_nope", cwd=str(tmp_path))
    assert missing.returncode == 2
    assert "no test ran for 'test_service.py::Service::test_nope'" in missing.stderr


DOCTESTED = '''
import doctest

SEEN = []


def clean(n):
    """
    >>> clean(3)
    [0, 1, 2]
    """
    return list(range(n))


def leaky(n):
    """
    >>> leaky(2)
    2
    """
    SEEN.append([0] * 1000)
    return n


def load_tests(loader, tests, ignore):
    tests.addTests(doctest.DocTestSuite(__name__))
    return tests
'''


def test_unittest_checks_doctests_of_a_load_tests_suite(tmp_path: Path) -> None:
    (tmp_path / "test_documented.py").write_text(DOCTESTED)
    verdicts = tmp_path / "verdicts.json"
    result = run_memhound(
        "unittest",
        "--iterations",
        "8",
        "--json",
        str(verdicts),
        "test_documented",
        cwd=str(tmp_path),
    )
    assert result.returncode == 1, result.stderr
    statuses = {v["test"]: v["status"] for v in json.loads(verdicts.read_text())["tests"]}
    assert statuses == {"test_documented.clean": "clean", "test_documented.leaky": "leaking"}
    assert "test_documented.SEEN[" in result.stderr
