"""Growth analysis and grouping of sites into leaks, on fabricated numbers and sites."""

from __future__ import annotations

from memhound._leaks._group import SiteEvidence, anchor_key, group_sites
from memhound._leaks._growth import SiteGrowth, growing_sites, grows_every_time, window_for
from memhound._leaks._kinds import Retention, Step
from memhound._leaks._model import Frame


def series(*counts: int) -> SiteGrowth:
    return SiteGrowth(stack=len(counts), counts=counts, sizes=tuple(c * 100 for c in counts))


def test_window_is_a_third_of_the_run_at_least_three():
    assert window_for(30) == 10
    assert window_for(9) == 3
    assert window_for(4) == 3


def test_steady_growth_is_a_leak():
    assert grows_every_time([0, 1, 2, 3, 4, 5], 3)
    (growth,) = growing_sites([series(*range(31))], 30)
    assert growth.count_per_iteration == 1.0
    assert growth.bytes_per_iteration == 100.0


def test_growth_that_stops_is_not_a_leak():
    filling_cache = [0, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5]
    sliding_window = [min(i, 5) for i in range(31)]
    assert not grows_every_time(filling_cache, window_for(12))
    assert growing_sites([SiteGrowth(1, tuple(sliding_window), tuple(sliding_window))], 30) == []


def test_one_pause_in_the_window_is_not_a_leak_but_before_it_is_fine():
    assert grows_every_time([0, 1, 1, 2, 3, 4, 5], 3)  # the pause is before the window
    assert not grows_every_time([0, 1, 2, 3, 4, 4, 5], 3)


def test_bytes_only_growth_counts():
    growing_buffer = SiteGrowth(7, (0,) + (1,) * 30, tuple(range(0, 3100, 100)))
    (growth,) = growing_sites([growing_buffer], 30)
    assert growth.stack == 7
    assert growth.count_per_iteration == 0.0
    assert growth.bytes_per_iteration == 100.0


def test_sites_sorted_biggest_first():
    small = SiteGrowth(1, tuple(range(31)), tuple(range(31)))
    big = SiteGrowth(2, tuple(range(31)), tuple(range(0, 31000, 1000)))
    assert [g.stack for g in growing_sites([small, big], 30)] == [2, 1]


# ---- grouping --------------------------------------------------------------------------------

HANDLE = Frame("app.py", 10, "handle")


def site(stack, frames, type_name=None, steps=None, unreachable=False, size=100.0):
    retention = (
        Retention("module", "app", tuple(Step(*s) for s in steps)) if steps is not None else None
    )
    return SiteEvidence(stack, tuple(frames), 1.0, size, type_name, retention, unreachable)


AUDIT = ("module_global", "AUDIT", "list")


def test_entry_and_what_hangs_below_it_are_one_leak():
    entry = site(1, [HANDLE], "dict", [AUDIT, ("index", "12", "dict")])
    inner = site(2, [HANDLE], "dict", [AUDIT, ("index", "13", "dict"), ("dict_key", "'h'", "dict")])
    other = site(
        3,
        [Frame("app.py", 11, "handle")],
        "str",
        [("module_global", "NAMES", "set"), ("set_member", "'x'", "str")],
    )
    groups = group_sites([entry, inner, other])
    assert len(groups) == 2
    audit = next(g for g in groups if len(g.sites) == 2)
    assert entry in audit.sites and inner in audit.sites
    assert audit.bytes_per_iteration == 200.0


def test_anchor_key_stops_at_the_first_container_step():
    retention = Retention(
        "module", "app", (Step(*AUDIT), Step("index", "12", "dict"), Step("dict_key", "'a'", "str"))
    )
    assert anchor_key(retention) == ("module", "app", ("module_global", "AUDIT"), ("index", "*"))


def test_buffers_join_the_object_of_their_statement_else_are_native():
    obj = site(1, [HANDLE], "Link", [AUDIT, ("index", "1", "Link")])
    values = site(2, [Frame("app.py", 3, "__init__"), HANDLE], size=50.0)
    raw = site(3, [Frame("native.py", 7, "grab"), Frame("app.py", 20, "other")], size=4000.0)
    groups = group_sites([obj, values, raw])
    assert [len(g.sites) for g in groups] == [1, 2]
    assert groups[0].is_native
    assert not groups[1].is_native


def test_garbage_of_one_unit_is_one_cycle_group():
    a = site(1, [HANDLE], "Link", unreachable=True)
    b = site(2, [Frame("app.py", 11, "handle")], "list", unreachable=True, size=400.0)
    (group,) = group_sites([a, b])
    assert group.key[0] == "cycle"
    assert group.count_per_iteration == 2.0
