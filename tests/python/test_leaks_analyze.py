"""From growing sites to leaks, on a fabricated capture and heap snapshot (no tracing)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memhound._leaks._analyze import Analysis, leaks_from, render_cycle
from memhound._leaks._growth import Growth
from memhound._leaks._probe import PACKAGE_DIR
from memhound._leaks._resources import Census, OpenResource

APP = "/srv/app.py"
CHECKPOINTS = [100, 200, 300, 400, 500, 600, 700]  # 6 iterations -> window of 3


@dataclass(frozen=True)
class FakeStep:
    edge_kind: str
    label: str
    type_name: str


@dataclass
class FakePath:
    root_kind: str
    root_label: str
    steps: list[FakeStep]

    def __str__(self) -> str:
        return self.root_label + "".join(f"<{s.label}>" for s in self.steps)


@dataclass
class FakeCapture:
    """stacks: id -> frames (innermost first); live: (address, size, seq, stack)."""

    stacks: dict[int, list[tuple[str, int, str]]]
    live: list[tuple[int, int, int, int]]

    def native_frames(self, stack: int) -> list[dict[str, Any]]:
        return []

    def stack_frames(self, stack: int) -> list[dict[str, Any]]:
        return [{"file": f, "line": n, "function": fn} for f, n, fn in self.stacks[stack]]

    def live_allocations(self) -> list[tuple[int, int, int, int]]:
        return self.live


@dataclass
class FakeSnapshot:
    """nodes: address -> (node, type); paths: node -> path (None: unreachable)."""

    nodes: dict[int, tuple[int, str]]
    paths: dict[int, FakePath | None]
    cycles: dict[int, list[FakeStep]] = field(default_factory=dict)
    objects: dict[int, object] = field(default_factory=dict)
    path_objects: dict[int, list[object]] = field(default_factory=dict)

    def node_of_allocation(self, address: int) -> int | None:
        return self.nodes[address][0] if address in self.nodes else None

    def node_type(self, node: int) -> str:
        return next(t for n, t in self.nodes.values() if n == node)

    def node_address(self, node: int) -> int:
        return next(address for address, (n, _) in self.nodes.items() if n == node)

    def path_to_node(self, node: int) -> FakePath | None:
        return self.paths.get(node)

    def unreachable_nodes(self) -> list[int]:
        return [node for node, path in self.paths.items() if path is None]

    def cycle_of(self, node: int) -> list[FakeStep] | None:
        return self.cycles.get(node)

    def node_object(self, node: int) -> object | None:
        return self.objects.get(node)

    def objects_on_path(self, node: int) -> list[object]:
        return list(self.path_objects.get(node, []))


def growth(stack: int, size: float = 100.0) -> Growth:
    return Growth(stack, 1.0, size)


def audit_path(index: int, *more: FakeStep) -> FakePath:
    steps = [FakeStep("module_global", "AUDIT", "list"), FakeStep("index", str(index), "dict")]
    return FakePath("module", "app", [*steps, *more])


def test_an_entry_and_its_contents_make_one_global_leak_shown_by_the_entry():
    capture = FakeCapture(
        stacks={
            1: [(APP, 6, "handle")],
            2: [(APP, 6, "handle")],
            9: [(f"{PACKAGE_DIR}/x.py", 1, "drv")],
        },
        live=[(0x10, 232, 450, 1), (0x20, 64, 460, 2)],
    )
    snapshot = FakeSnapshot(
        nodes={0x10: (1, "dict"), 0x20: (2, "str")},
        paths={1: audit_path(4), 2: audit_path(4, FakeStep("dict_key", "'body'", "str"))},
    )
    analysis = Analysis(capture, snapshot, Census(), CHECKPOINTS)
    (leak,) = leaks_from(analysis, [growth(1, 232.0), growth(2, 64.0)], 6)
    assert leak.kinds == ["global"]
    assert leak.type == "dict"
    assert leak.bytes_per_iteration == 296.0
    assert leak.allocated_at[0].line == 6
    assert leak.retained_by == "app<AUDIT><4>"
    assert [edge.edge for edge in leak.path] == ["module_global", "index"]


def test_the_most_specific_site_shows_the_leak_and_kinds_are_unioned():
    capture = FakeCapture(
        stacks={1: [(APP, 8, "schedule"), (APP, 13, "handle")], 2: [(APP, 12, "handle")]},
        live=[(0x10, 150, 450, 1), (0x20, 2456, 460, 2)],
    )
    timers = [FakeStep("module_global", "_timers", "dict"), FakeStep("dict_key", "3", "function")]
    closure = [FakeStep("closure_cell", "data", "cell"), FakeStep("cell_contents", "data", "list")]
    snapshot = FakeSnapshot(
        nodes={0x10: (1, "function"), 0x20: (2, "list")},
        paths={
            1: FakePath("module", "app", timers),
            2: FakePath("module", "app", timers + closure),
        },
    )
    analysis = Analysis(capture, snapshot, Census(), CHECKPOINTS)
    (leak,) = leaks_from(analysis, [growth(2, 2456.0), growth(1, 150.0)], 6)
    assert leak.kinds == ["closure", "listener", "global"]
    assert leak.type == "list"
    assert leak.allocated_at[0].line == 12


def test_open_resources_and_garbage_cycles_and_native_memory():
    capture = FakeCapture(
        stacks={
            1: [(APP, 20, "connect")],
            2: [(APP, 30, "link")],
            3: [(APP, 40, "grab")],
            4: [(f"{PACKAGE_DIR}/_leaks/_observe.py", 9, "observe")],
        },
        live=[(0x10, 200, 450, 1), (0x20, 56, 450, 2), (0x30, 4096, 450, 3), (0x40, 32, 450, 4)],
    )
    snapshot = FakeSnapshot(
        nodes={0x10: (1, "sqlite3.Connection"), 0x20: (2, "app.Link")},
        paths={
            1: FakePath(
                "module",
                "app",
                [
                    FakeStep("module_global", "POOL", "list"),
                    FakeStep("index", "0", "sqlite3.Connection"),
                ],
            ),
            2: None,
        },
        cycles={
            2: [
                FakeStep("attribute", "next", "app.Link"),
                FakeStep("attribute", "prev", "app.Link"),
            ]
        },
    )
    census = Census(
        by_object={
            1: OpenResource(
                "sqlite3.Connection", "sqlite3.Connection ':memory:' (open)", address=0x10
            )
        }
    )
    analysis = Analysis(capture, snapshot, census, CHECKPOINTS)
    sites = [growth(1, 200.0), growth(2, 56.0), growth(3, 4096.0), growth(4, 32.0)]
    native, resource, cycle = leaks_from(analysis, sites, 6)
    assert native.kinds == ["native"] and native.type == "native memory"
    assert native.retained_by is None
    assert resource.kinds == ["resource", "global"]
    assert resource.resource == "sqlite3.Connection ':memory:' (open)"
    assert cycle.kinds == ["cycle"]
    assert cycle.retained_by == "reference cycle Link.next -> Link.prev"


def test_render_cycle_names_each_step_from_its_owner():
    steps = [
        FakeStep("attribute", "children", "list"),
        FakeStep("index", "0", "mod.Node"),
        FakeStep("attribute", "parent", "mod.Node"),
    ]
    assert render_cycle("mod.Node", steps) == "Node.children -> list[0] -> Node.parent"


def test_library_plumbing_of_a_leaked_object_adds_no_kinds():
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"]
    capture = FakeCapture(
        stacks={1: [(APP, 38, "Session.__init__")], 2: [(f"{stdlib}/functools.py", 520, "lru")]},
        live=[(0x10, 200, 450, 1), (0x20, 64, 450, 2)],
    )
    holder = [FakeStep("module_global", "SESSIONS", "list"), FakeStep("index", "3", "Session")]
    snapshot = FakeSnapshot(
        nodes={0x10: (1, "Session"), 0x20: (2, "function")},
        paths={
            1: FakePath("module", "app", holder),
            2: FakePath("module", "app", [*holder, FakeStep("closure_cell", "c", "cell")]),
        },
    )
    analysis = Analysis(capture, snapshot, Census(), CHECKPOINTS)
    (leak,) = leaks_from(analysis, [growth(1, 200.0), growth(2, 64.0)], 6)
    assert leak.kinds == ["global"]
