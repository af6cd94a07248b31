"""The pytest plugin, driven through pytester in a subprocess (the tracer is process-wide)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

LEAKY_AND_CLEAN = """
import pytest

HISTORY = []
SETUPS = []


@pytest.fixture
def session_state():
    SETUPS.append(1)
    return {"setups": len(SETUPS)}


@pytest.mark.no_leaks(iterations=8, warmup=2)
def test_leaky(session_state):
    HISTORY.append({"payload": bytearray(512), "setup": session_state["setups"]})


@pytest.mark.no_leaks(iterations=8, warmup=2)
def test_clean(session_state):
    rows = [bytearray(64) for _ in range(50)]
    assert len(rows) == 50


def test_fixture_ran_once_per_test():
    assert len(SETUPS) == 2
"""


def test_no_leaks_fails_a_leaky_test_with_the_findings_and_passes_a_clean_one(pytester):
    pytester.makepyfile(LEAKY_AND_CLEAN)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_leaky*",
            "*1 leak(s) found*",
            "*[[]global[]] dict: *per iteration*",
            "*HISTORY.append*",
        ]
    )


def test_memhound_leaks_option_checks_every_test(pytester):
    pytester.makepyfile(
        """
        KEPT = []

        def test_unmarked_leak():
            KEPT.append(bytearray(1024))

        def test_unmarked_clean():
            assert sum(range(10)) == 45
        """
    )
    result = pytester.runpytest_subprocess("--memhound-leaks", "--memhound-iterations", "6")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_unmarked_leak*leak(s) found*"])
    assert pytester.runpytest_subprocess().ret == 0  # without the option nothing is checked


@pytest.mark.parametrize(
    "marker, body, fails",
    [
        ('limit_memory("1 MB")', "data = bytearray(4 * 1024 * 1024)", True),
        ('limit_memory("24 MB")', "data = bytearray(4 * 1024 * 1024)", False),
        ('limit_leaks("64 KB")', "KEEP.append(bytearray(512 * 1024))", True),
        ('limit_leaks("1 MB")', "KEEP.append(bytearray(512 * 1024))", False),
        ('limit_leaks("64 KB")', "data = bytearray(512 * 1024)", False),
    ],
)
def test_limits(pytester, marker: str, body: str, fails: bool):
    pytester.makepyfile(
        f"""
        import pytest
        KEEP = []

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


def test_works_under_xdist(pytester):
    pytester.makepyfile(
        LEAKY_AND_CLEAN.replace("def test_fixture_ran_once_per_test", "def _unused")
    )
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=1, failed=1)


def test_markers_are_registered(pytester):
    result = pytester.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["*no_leaks(*", "*limit_memory(*", "*limit_leaks(*"])
