"""The pytest plugin, driven through pytester in a subprocess (the tracer is process-wide).

Every test style pytest runs gets a clean and a leaky variant: the clean one must pass (the
repetitions leave nothing of pytest's own behind), the leaky one must fail with its site."""

from __future__ import annotations

import json
import re
import textwrap

import pytest

from memhound._testing._schedule import SCREEN_ITERATIONS
from memhound.pytest_plugin import DEFAULT_ITERATIONS

pytest_plugins = ["pytester"]

# Each style: a module with `test_clean` and `test_leaky`; the leak is `KEEP.append(...)`.
STYLES = {
    "function": """
        KEEP = []

        def test_clean():
            rows = [bytearray(64) for _ in range(50)]
            assert len(rows) == 50

        def test_leaky():
            KEEP.append(bytearray(1024))
    """,
    "class_with_setup_method": """
        KEEP = []

        class TestThing:
            def setup_method(self):
                self.items = [bytearray(256) for _ in range(4)]

            def teardown_method(self):
                self.items.clear()

            def test_clean(self):
                assert len(self.items) == 4

            def test_leaky(self):
                KEEP.append(self.items[0] + bytearray(1024))
    """,
    "unittest_testcase": """
        import unittest
        KEEP = []

        class Case(unittest.TestCase):
            def setUp(self):
                self.registry = set()

            def tearDown(self):
                self.registry.clear()

            def test_clean(self):
                for n in range(3):
                    with self.subTest(n=n):
                        self.registry.add(n)
                        self.assertIn(n, self.registry)

            def test_leaky(self):
                KEEP.append([0] * 1000)
    """,
    "parametrized": """
        import pytest
        KEEP = []

        @pytest.mark.parametrize("n", [1, 2])
        def test_clean(n):
            assert sum(range(n)) >= 0

        @pytest.mark.parametrize("n", [3])
        def test_leaky(n):
            KEEP.append(bytearray(1024 * n))
    """,
    "async_pytest_asyncio": """
        import asyncio
        import pytest
        KEEP = []

        @pytest.mark.asyncio
        async def test_clean():
            await asyncio.sleep(0)

        @pytest.mark.asyncio
        async def test_leaky():
            await asyncio.sleep(0)
            KEEP.append(bytearray(1024))
    """,
    "async_anyio": """
        import anyio
        import pytest
        KEEP = []

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        @pytest.mark.anyio
        async def test_clean():
            await anyio.sleep(0)

        @pytest.mark.anyio
        async def test_leaky():
            await anyio.sleep(0)
            KEEP.append(bytearray(1024))
    """,
    "builtin_fixtures": """
        import logging
        import warnings
        KEEP = []

        def test_clean(caplog, capsys, tmp_path, monkeypatch, record_property):
            monkeypatch.setenv("MEMHOUND_STYLE", "1")
            (tmp_path / "f.txt").write_text("data")
            logging.getLogger("style").warning("logged %s", tmp_path.name)
            print("printed")
            warnings.warn("a warning")
            record_property("size", 4)
            assert capsys.readouterr().out == "printed\\n"
            assert caplog.records

        def test_leaky(caplog, tmp_path):
            logging.getLogger("style").info("kept")
            KEEP.append(bytearray(1024))
    """,
}


@pytest.mark.parametrize("style", sorted(STYLES))
def test_each_style_is_checked_clean_passes_leaky_fails(pytester, style: str):
    pytester.makepyfile(**{f"test_{style}": textwrap.dedent(STYLES[style])})
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--memhound-leaks", "--memhound-iterations", "8"
    )
    outcomes = result.parseoutcomes()
    clean = 2 if style == "parametrized" else 1
    assert outcomes.get("passed") == clean and outcomes.get("failed") == 1, result.stdout.str()
    result.stdout.fnmatch_lines(["*test_leaky*leak(s) found*", "*KEEP.append*", "*KEEP*"])
    result.stdout.fnmatch_lines([f"memhound leaks: {clean + 1} checked (1 leaking)*"])
    assert not FRAMEWORK_ROOT.search(result.stdout.str())


# A path rooted in the test framework's own objects: pytest's, pluggy's, unittest's, memhound's.
FRAMEWORK_ROOT = re.compile(r"retained by\s+(_pytest|pluggy|unittest|memhound)\.")


FIXTURE_SCOPES = """
import pytest

EVENTS = []
KEEP = []


@pytest.fixture(scope="module")
def shared():
    EVENTS.append("module-setup")
    yield []
    EVENTS.append("module-teardown")


@pytest.fixture
def per_test(shared):
    EVENTS.append("function-setup")
    yield {"shared": shared}
    EVENTS.append("function-teardown")


@pytest.fixture(autouse=True)
def automatic():
    EVENTS.append("autouse-setup")
    yield
    EVENTS.append("autouse-teardown")


@pytest.mark.no_leaks(iterations=6, warmup=2)
def test_repeated(per_test):
    per_test["shared"].append(1)
    per_test["shared"].pop()


def test_counts():
    setups = EVENTS.count("function-setup")
    assert EVENTS.count("module-setup") == 1
    assert setups >= 1 + 2 + 6  # the real run, the warm-up and every iteration
    assert EVENTS.count("function-teardown") == setups
    assert EVENTS.count("autouse-setup") == EVENTS.count("autouse-teardown") + 1
"""


def test_function_fixtures_run_per_repetition_wider_scopes_once(pytester):
    pytester.makepyfile(FIXTURE_SCOPES)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_a_leak_into_a_wider_fixture_is_found(pytester):
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(scope="session")
        def journal():
            return []

        @pytest.mark.no_leaks(iterations=8, warmup=2)
        def test_leaky(journal):
            journal.append(bytearray(2048))
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*1 leak(s) found*", "*journal.append*"])


NOT_REPEATABLE = """
import pytest

SEEN = []
PLUGINS = set()


def test_second_run_fails():
    SEEN.append(1)
    assert len(SEEN) == 1


def test_registers_once():
    if "p" in PLUGINS:
        raise ValueError("Plugin already registered")
    PLUGINS.add("p")


@pytest.mark.xfail(reason="known")
def test_expected_failure():
    assert False


@pytest.mark.skip(reason="not here")
def test_skipped():
    pass


@pytest.mark.memhound_skip("too slow to repeat")
def test_left_out():
    pass


def test_fails_normally():
    assert 1 == 2
"""


def test_a_test_that_breaks_when_repeated_keeps_its_outcome(pytester):
    pytester.makepyfile(NOT_REPEATABLE)
    report = pytester.path / "verdicts.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--memhound-leaks", f"--memhound-leaks-json={report}"
    )
    result.assert_outcomes(passed=3, failed=1, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "not repeatable: *test_second_run_fails: call failed: assert 2 == 1*",
            "not repeatable: *test_registers_once: call failed: ValueError: Plugin already*",
            (
                "memhound leaks: 0 checked (0 leaking), 2 not repeatable, 4 not checked "
                "(*xfail 1*)*; the checks took * s"
            ),
        ]
    )
    verdicts = json.loads(report.read_text())
    assert verdicts["totals"] == {
        "clean": 0,
        "leaking": 0,
        "not_repeatable": 2,
        "not_checked": 4,
    }
    reasons = {v["test"].split("::")[-1]: v.get("reason", "") for v in verdicts["tests"]}
    assert reasons["test_left_out"] == "marker memhound_skip: too slow to repeat"
    assert reasons["test_skipped"] == "skipped"
    assert reasons["test_fails_normally"].startswith("failed: call failed")


def test_a_slow_test_is_left_out_unless_marked(pytester):
    pytester.makepyfile(
        """
        import time
        import pytest

        def test_slow():
            time.sleep(0.3)

        @pytest.mark.no_leaks(iterations=6, warmup=1)
        def test_slow_but_marked():
            time.sleep(0.3)
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--memhound-leaks", "--memhound-max-seconds", "0.1"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["memhound leaks: 1 checked (0 leaking), 0 not repeatable, 1 not checked (slow 1)*"]
    )


def test_strict_fails_a_test_that_is_not_repeatable(pytester):
    pytester.makepyfile(NOT_REPEATABLE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--memhound-leaks", "--memhound-leaks-strict"
    )
    result.assert_outcomes(passed=1, failed=3, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(["*the test is not repeatable (first failure: *"])


def test_json_gives_each_leak_in_the_leaks_schema(pytester):
    pytester.makepyfile(textwrap.dedent(STYLES["function"]))
    report = pytester.path / "verdicts.json"
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--memhound-leaks", f"--memhound-leaks-json={report}"
    )
    verdicts = {v["test"].split("::")[-1]: v for v in json.loads(report.read_text())["tests"]}
    assert verdicts["test_clean"]["status"] == "clean"
    assert verdicts["test_clean"]["report"]["leaks"] == []
    leaky = verdicts["test_leaky"]
    assert leaky["status"] == "leaking"
    (leak,) = leaky["report"]["leaks"]
    assert leak["kinds"] == ["global"] and leak["type"] == "bytearray"
    assert leak["retained_by"].startswith("test_json_gives_each_leak_in_the_leaks_schema.KEEP[")
    assert leak["allocated_at"][0]["function"] == "test_leaky"
    # a clean screen settles the test; growth in the screen gets the full iterations
    assert verdicts["test_clean"]["report"]["iterations"] == SCREEN_ITERATIONS
    assert leaky["report"]["iterations"] == DEFAULT_ITERATIONS


def test_memhound_leaks_option_checks_every_test_and_nothing_without_it(pytester):
    pytester.makepyfile(textwrap.dedent(STYLES["function"]))
    result = pytester.runpytest_subprocess("--memhound-leaks", "--memhound-iterations", "6")
    result.assert_outcomes(passed=1, failed=1)
    plain = pytester.runpytest_subprocess()
    assert plain.ret == 0
    assert "memhound leaks:" not in plain.stdout.str()


@pytest.mark.parametrize(
    "marker, body, fails",
    [
        ('limit_memory("1 MB")', "data = bytearray(4 * 1024 * 1024)", True),
        ('limit_memory("24 MB")', "data = bytearray(4 * 1024 * 1024)", False),
        ('limit_leaks("64 KB")', "KEEP.append(bytearray(512 * 1024))", True),
        ('limit_leaks("1 MB")', "KEEP.append(bytearray(512 * 1024))", False),
        ('limit_leaks("64 KB")', "data = bytearray(512 * 1024)", False),
        # ctypes' malloc, looked up inside the test (under the tracer): seen with native only
        ('limit_memory("1 MB", native=True)', "KEEP.append(malloc_mib(4))", True),
        ('limit_memory("1 MB")', "KEEP.append(malloc_mib(4))", False),
        ('limit_leaks("64 KB", native=True)', "KEEP.append(malloc_mib(1))", True),
    ],
)
def test_limits(pytester, marker: str, body: str, fails: bool):
    pytester.makepyfile(
        f"""
        import ctypes
        import pytest
        KEEP = []

        def malloc_mib(mib):
            libc = ctypes.CDLL(None)
            libc.malloc.restype = ctypes.c_void_p
            return libc.malloc(mib << 20)

        @pytest.mark.{marker}
        def test_limited():
            {body}
        """
    )
    result = pytester.runpytest_subprocess()
    if fails:
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*over the limit of*"])
    else:
        result.assert_outcomes(passed=1)


def test_works_under_xdist_with_the_summary_in_the_controller(pytester):
    pytester.makepyfile(textwrap.dedent(STYLES["unittest_testcase"]))
    report = pytester.path / "verdicts.json"
    result = pytester.runpytest_subprocess(
        "-n", "2", "--memhound-leaks", f"--memhound-leaks-json={report}"
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["memhound leaks: 2 checked (1 leaking)*"])
    assert json.loads(report.read_text())["totals"]["leaking"] == 1


def test_markers_are_registered(pytester):
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(
        ["*no_leaks(*", "*memhound_skip(*", "*limit_memory(*", "*limit_leaks(*"]
    )


MEMO_TESTS = """
import collections
import pytest

PRICE_CACHE = collections.OrderedDict()  # evicts past 50 entries: a limit no attribute shows
COUNTER = iter(range(10**6))


def quote(key):
    PRICE_CACHE[key] = [key] * 20
    if len(PRICE_CACHE) > 50:
        PRICE_CACHE.popitem(last=False)


def test_memo_filling():
    quote(next(COUNTER))


@pytest.mark.no_leaks(iterations=20, budget=0)
def test_memo_without_budget():
    quote(next(COUNTER))
"""


def test_budget_gives_an_ambiguous_cache_more_rounds_and_zero_gives_none(pytester):
    pytester.makepyfile(test_memo=MEMO_TESTS)
    report = pytester.path / "verdicts.json"
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--memhound-leaks",
        "--memhound-iterations=20",
        "--memhound-budget=30s",
        f"--memhound-leaks-json={report}",
    )
    result.assert_outcomes(passed=1, failed=1)
    verdicts = {v["test"].split("::")[-1]: v for v in json.loads(report.read_text())["tests"]}
    filling = verdicts["test_memo_filling"]
    assert filling["status"] == "clean"
    assert filling["report"]["extended"]["settled"] is True
    unextended = verdicts["test_memo_without_budget"]
    assert unextended["status"] == "leaking" and unextended["report"]["extended"] is None


def test_a_bad_budget_option_is_a_usage_error(pytester):
    pytester.makepyfile(test_memo=MEMO_TESTS)
    result = pytester.runpytest_subprocess("--memhound-leaks", "--memhound-budget=soon")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*bad duration 'soon'*"])
