"""check_leaks end to end (real tracing + heap snapshot) on the units of leak_cases.py."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import leak_cases
import pytest

import memhound
from memhound._leaks._model import LeakReport

CASES_FILE = os.path.abspath(leak_cases.__file__)
ITERATIONS = 12


def leak_lines(unit: str) -> set[int]:
    """The lines marked `# LEAK: unit` (where what it leaks is allocated or kept)."""
    with open(CASES_FILE, encoding="utf-8") as source:
        marked = {
            number
            for number, line in enumerate(source, start=1)
            if line.rstrip().endswith(f"# LEAK: {unit}")
        }
    if not marked:
        raise LookupError(f"no '# LEAK: {unit}' marker in {CASES_FILE}")
    return marked


def matching(report: LeakReport, unit: str, kind: str) -> bool:
    """A finding among the first 3 allocated at one of the unit's marked lines, with that kind."""
    wanted = leak_lines(unit)
    for leak in report.leaks[:3]:
        lines = {frame.line for frame in leak.allocated_at if frame.file == CASES_FILE}
        if lines & wanted and kind in leak.kinds:
            return True
    return False


LEAKY = [
    ("remember_tokens", "global"),
    ("quote_price", "cache"),
    ("render_unbounded", "cache"),
    ("audit_event", "default_argument"),
    ("record_metric", "class_attribute"),
    ("place_order", "listener"),
    ("keep_formatter", "closure"),
    ("thread_local_rows", "thread_local"),
    ("keep_failures", "traceback"),
    ("spawn_poller", "task"),
    ("open_connection", "resource"),
    ("open_socket", "resource"),
    ("start_worker", "resource"),
    ("open_bare_fd", "resource"),
    ("grab_native", "native"),
    ("grab_malloc", "native"),
]


@pytest.mark.parametrize("unit, kind", LEAKY)
def test_leak_is_found_with_its_site_and_kind(unit: str, kind: str):
    report = memhound.check_leaks(getattr(leak_cases, unit), iterations=ITERATIONS, warmup=2)
    assert matching(report, unit, kind), str(report)


def test_resource_leak_says_what_is_open():
    report = memhound.check_leaks(leak_cases.open_connection, iterations=ITERATIONS)
    (leak,) = [leak for leak in report.leaks if "resource" in leak.kinds]
    assert leak.resource == "sqlite3.Connection ':memory:' (open)"
    assert report.resources.grown()["sqlite3.Connection"] >= ITERATIONS


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def test_cycles_kept_while_the_collector_is_off_are_a_cycle_leak(collector_off: None):
    report = memhound.check_leaks(leak_cases.build_tree, iterations=ITERATIONS)
    assert matching(report, "build_tree", "cycle"), str(report)
    cycle = next(leak for leak in report.leaks if "cycle" in leak.kinds)
    assert cycle.retained_by is not None
    assert "Node." in cycle.retained_by


def test_cycles_the_collector_reclaims_are_cyclic_garbage_not_leaks():
    report = memhound.check_leaks(leak_cases.collected_cycles, iterations=ITERATIONS)
    assert report.leaks == [], str(report)
    nodes = [entry for entry in report.cyclic_garbage if entry.type.endswith("Node")]
    assert sum(entry.objects_per_iteration for entry in nodes) == 4  # a root and 3 children
    assert any(frame.file == CASES_FILE for entry in nodes for frame in entry.allocated_at)
    assert report.collected_per_iteration is not None
    # 4 nodes and their 4 children lists at least; one iteration's worth, not the pile-up of
    # the iterations before the first collection of the window
    assert 8 <= report.collected_per_iteration <= 16


@pytest.mark.parametrize(
    "unit",
    [
        "bounded_lru",
        "sliding_window",
        "warm_cache",
        "temporaries",
        "closed_resources",
        "finished_tasks",
        "compiled_again",
    ],
)
def test_controls_stay_clean(unit: str):
    report = memhound.check_leaks(getattr(leak_cases, unit), iterations=ITERATIONS)
    assert report.leaks == [], str(report)


def test_assert_no_leaks_raises_an_assertion_with_the_report():
    with pytest.raises(AssertionError, match="record_metric") as raised:
        memhound.assert_no_leaks(leak_cases.record_metric, iterations=ITERATIONS)
    assert isinstance(raised.value, memhound.LeakError)
    assert raised.value.report.leaks
    assert memhound.assert_no_leaks(leak_cases.temporaries, iterations=ITERATIONS).leaks == []


def teardown_module() -> None:
    leak_cases.STOP_WORKERS.set()
