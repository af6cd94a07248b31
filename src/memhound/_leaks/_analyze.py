"""From the capture, the heap snapshot and the resource census to the list of leaks.

For each growing site (see _growth) the detector picks a representative live allocation made
inside the growth window (it survived several checkpoints, so it is leaked, not a temporary),
finds its object in the heap snapshot by allocation address, and reads that object's retention
path, type, and whether it is an open resource. Sites are then grouped into distinct leaks
(_group) and each group is turned into a Leak with its kinds (_kinds).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from memhound._leaks._bounded import Bound, bound_on_path
from memhound._leaks._group import SiteEvidence, SiteGroup, group_sites
from memhound._leaks._growth import Growth, window_for
from memhound._leaks._kinds import TASK_TYPES, Retention, Step, classify, short_type
from memhound._leaks._model import (
    KIND_ORDER,
    CyclicGarbage,
    Frame,
    Holder,
    Leak,
    PathEdge,
    order_kinds,
)
from memhound._leaks._origin import holder_of, is_program_file, is_stdlib_file
from memhound._leaks._probe import PACKAGE_DIR
from memhound._leaks._resources import Census, OpenResource, allocation_address, type_name


def trim_frames(frames: Iterable[dict[str, Any]]) -> tuple[Frame, ...]:
    """Innermost-first frames up to (not including) the first frame of memhound itself."""
    trimmed: list[Frame] = []
    for frame in frames:
        if str(frame["file"]).startswith(PACKAGE_DIR + os.sep):
            break
        line = frame["line"]  # None: before the function's first instruction (cells, args)
        trimmed.append(Frame(str(frame["file"]), int(line or 0), str(frame["function"])))
    return tuple(trimmed)


@dataclass(frozen=True)
class Allocation:
    address: int
    size: int
    seq: int
    stack: int


@dataclass(frozen=True)
class Evidence:
    """SiteEvidence plus what the Leak needs and the grouping does not."""

    site: SiteEvidence
    node: int | None
    rendered_path: str | None
    resource: OpenResource | None
    bound: Bound | None = None  # a bounded container on the path (an lru_cache, a deque)


class Analysis:
    """One capture + one snapshot + the census after the run, queried site by site."""

    def __init__(self, capture: Any, snapshot: Any, census: Census, checkpoints: Sequence[int]):
        self.capture = capture
        self.snapshot = snapshot
        self.census = census
        self.checkpoints = list(checkpoints)
        self._unreachable: set[int] | None = None
        self._live: dict[int, list[Allocation]] | None = None
        self._resources: dict[int, OpenResource] | None = None

    # ---- live allocations and objects -------------------------------------------------------

    def live_by_stack(self) -> dict[int, list[Allocation]]:
        if self._live is None:
            by_stack: dict[int, list[Allocation]] = defaultdict(list)
            for address, size, seq, stack in self.capture.live_allocations():
                by_stack[stack].append(Allocation(address, size, seq, stack))
            for allocations in by_stack.values():
                allocations.sort(key=lambda allocation: allocation.seq)
            self._live = by_stack
        return self._live

    def resources_by_stack(self) -> dict[int, OpenResource]:
        """Open resources whose object was allocated while tracing, by allocation stack."""
        if self._resources is None:
            stacks = {
                allocation.address: stack
                for stack, allocations in self.live_by_stack().items()
                for allocation in allocations
            }
            self._resources = {
                stacks[resource.address]: resource
                for resource in self.census.by_object.values()
                if resource.address in stacks
            }
        return self._resources

    def unreachable(self) -> set[int]:
        if self._unreachable is None:
            self._unreachable = set(self.snapshot.unreachable_nodes())
        return self._unreachable

    def representative(self, stack: int, window: int) -> tuple[int, bool] | None:
        """The node of the oldest live allocation of `stack` made inside the growth window
        (it survived several checkpoints: leaked, not a temporary), else of any before the end;
        and whether the allocation is the node's storage rather than the object itself."""
        window_start = self.checkpoints[len(self.checkpoints) - 1 - window]
        end = self.checkpoints[-1]
        allocations = self.live_by_stack().get(stack, [])
        before_end = [a for a in allocations if a.seq < end]
        in_window = [a for a in before_end if a.seq >= window_start]
        # Last resort, one made after the end: an object that is reallocated each iteration
        # (a string grown in place) lives only at its newest address.
        for allocation in [*in_window, *reversed(before_end), *reversed(allocations)]:
            node = self.snapshot.node_of_allocation(allocation.address)
            if node is not None:
                return node, self.snapshot.node_address(node) != allocation.address
        return None

    # ---- sites --------------------------------------------------------------------------------

    def evidence(self, growth: Growth, window: int) -> Evidence | None:
        frames = trim_frames(self.capture.stack_frames(growth.stack))
        if not frames:
            return None  # memhound's own bookkeeping between iterations
        resource = self.resources_by_stack().get(growth.stack)
        node = self.snapshot.node_of_allocation(resource.address) if resource else None
        storage = False
        if node is None:
            node, storage = self.representative(growth.stack, window) or (None, False)
        base: dict[str, Any] = {
            "stack": growth.stack,
            "frames": frames,
            "count_per_iteration": growth.count_per_iteration,
            "bytes_per_iteration": growth.bytes_per_iteration,
        }
        if node is None:
            return Evidence(SiteEvidence(**base), None, None, resource)
        path = self.snapshot.path_to_node(node)
        retention = _retention(path) if path is not None else None
        site = SiteEvidence(
            **base,
            type_name=self.snapshot.node_type(node),
            retention=retention,
            unreachable=path is None and node in self.unreachable(),
            storage=storage,
        )
        rendered = str(path) if path is not None else None
        bound = self._bound(node, retention) if retention is not None else None
        return Evidence(site, node, rendered, resource, bound)

    def _bound(self, node: int, retention: Retention) -> Bound | None:
        steps = retention.steps
        first = steps[0].label if steps and steps[0].edge_kind == "module_global" else None
        objects = self.snapshot.objects_on_path(node)
        return bound_on_path(objects, retention.root_kind, retention.root_label, first)

    def holder(self, item: Evidence) -> Holder:
        """Whose code holds the item's object (the program's or a library's)."""
        held = item.node is not None and item.site.retention is not None
        objects = self.snapshot.objects_on_path(item.node) if held else []
        return holder_of(objects, item.site.frames)

    def find_cycle(self, evidence: list[Evidence]) -> tuple[Evidence, str, list[PathEdge]] | None:
        """A reference cycle through one of the garbage objects: the object, rendered, edges."""
        for item in evidence:
            if item.node is None or not item.site.unreachable:
                continue
            steps = self.snapshot.cycle_of(item.node)
            if steps:
                text = render_cycle(item.site.type_name or "?", steps)
                return item, f"reference cycle {text}", [_edge(step) for step in steps]
        return None


def _retention(path: Any) -> Retention:
    steps = tuple(Step(s.edge_kind, str(s.label), str(s.type_name)) for s in path.steps)
    root_type = str(getattr(path, "root_type", ""))
    return Retention(str(path.root_kind), str(path.root_label), steps, root_type)


def _edge(step: Any) -> PathEdge:
    return PathEdge(str(step.edge_kind), str(step.type_name))


def render_step(owner: str, step: Any) -> str:
    """`Link` + attribute 'next' -> 'Link.next'; index 3 -> 'list[3]'."""
    label = str(step.label)
    if step.edge_kind in ("attribute", "slot", "class_dict", "module_global", "tls"):
        return f"{owner}.{label}"
    if step.edge_kind in ("index", "dict_key", "set_member"):
        return f"{owner}[{label}]"
    return f"{owner}<{step.edge_kind} {label}>".replace(" >", ">")


def render_cycle(first_owner: str, steps: Sequence[Any]) -> str:
    """Each step from its owner's type: `Link.next -> Link.prev`."""
    owners = [short_type(first_owner), *(short_type(str(s.type_name)) for s in steps[:-1])]
    return " -> ".join(render_step(owner, step) for owner, step in zip(owners, steps))


# Weak references grow with the objects they point to (a WeakSet of live threads, asyncio's set
# of tasks) but keep nothing alive: when such a group is not the only leak, it is an echo of
# another one and is left out.
WEAK_TYPES = frozenset({"ReferenceType", "KeyedRef", "weakref"})


def leaks_from(
    analysis: Analysis, growth: list[Growth], iterations: int, window: int | None = None
) -> list[Leak]:
    """The distinct leaks among the growing sites (that grew over the last `window`
    checkpoints, by default window_for(iterations)), biggest first."""
    window = window_for(iterations) if window is None else window
    found = [analysis.evidence(item, window) for item in growth]
    evidence = [item for item in found if item is not None]
    by_stack = {item.site.stack: item for item in evidence}
    groups = group_sites([item.site for item in evidence])
    leaks = [_leak(analysis, group, [by_stack[s.stack] for s in group.sites]) for group in groups]
    strong = [leak for leak in leaks if short_type(leak.type) not in WEAK_TYPES]
    return strong or leaks


def is_library_internal(frames: Sequence[Frame]) -> bool:
    """Allocated inside the standard library (a connection's statement cache, a thread's
    locks): the object's own plumbing, whose path says nothing about how the program leaks."""
    return is_stdlib_file(frames[0].file if frames else "")


def effective_kinds(items: list[tuple[Evidence, set[str]]]) -> list[tuple[Evidence, set[str]]]:
    """Kinds count for sites the program allocated, and for library-allocated objects that are
    themselves open, pending or garbage; other library-internal sites count for none (unless
    no site shows any kind then)."""
    trimmed = [(item, kinds if _counts(item) else set()) for item, kinds in items]
    return trimmed if any(kinds for _item, kinds in trimmed) else items


def _counts(item: Evidence) -> bool:
    """A site of the program's own, or one whose objects are open, pending or garbage."""
    type_name = short_type(item.site.type_name or "")
    leaked_thing = item.resource is not None or item.site.unreachable or type_name in TASK_TYPES
    return leaked_thing or not is_library_internal(item.site.frames)


def site_kinds(item: Evidence) -> set[str]:
    """The kinds one site shows: its path, whether it is garbage, an open resource, a task."""
    site = item.site
    kinds = classify(site.retention) if site.retention else set()
    if site.unreachable:
        kinds.add("cycle")
    if item.resource is not None:
        kinds.add("task" if short_type(item.resource.type_name) in TASK_TYPES else "resource")
    if site.type_name and short_type(site.type_name) in TASK_TYPES:
        kinds.add("task")
    return kinds


def shown_site(items: list[tuple[Evidence, set[str]]]) -> Evidence:
    """The site a leak is shown by: an object whose kinds are the most specific, the open
    resource or pending task itself, allocated at a known line (not a closure cell made on
    function entry), then the shortest path (the entry rather than what hangs below it), then
    the most bytes.

    A site whose stack goes through the program's code comes first, then one that allocated
    the object rather than its storage: objects and storage both come from free lists, whose
    reuse keeps the stack of the allocation that made them (a list freed by `inspect` and
    reused by the test's `[0] * 1000`)."""
    objects = [pair for pair in items if pair[0].site.is_object] or items
    objects = [pair for pair in objects if _through_program(pair[0])] or objects
    objects = [pair for pair in objects if not pair[0].site.storage] or objects

    def rank(pair: tuple[Evidence, set[str]]) -> tuple[int, bool, bool, int, float]:
        item, kinds = pair
        specific = min((KIND_ORDER.index(kind) for kind in kinds), default=len(KIND_ORDER))
        unknown_line = item.site.frames[0].line == 0
        depth = len(item.site.retention.steps) if item.site.retention else 0
        return (
            specific,
            item.resource is None,
            unknown_line,
            depth,
            -item.site.bytes_per_iteration,
        )

    return min(objects, key=rank)[0]


def _through_program(item: Evidence) -> bool:
    return any(is_program_file(frame.file) for frame in item.site.frames)


def _leak(analysis: Analysis, group: SiteGroup, evidence: list[Evidence]) -> Leak:
    items = effective_kinds([(item, site_kinds(item)) for item in evidence])
    kinds = set().union(*(pair[1] for pair in items))
    shown = shown_site(items)
    retained_by = shown.rendered_path
    path = (
        [PathEdge(s.edge_kind, s.type_name) for s in shown.site.retention.steps]
        if shown.site.retention
        else []
    )
    if "cycle" in kinds:
        cycle = analysis.find_cycle(evidence)
        if cycle is not None:
            shown, retained_by, path = cycle
    if group.is_native or not kinds:
        kinds.add("native")
    resource = shown.resource or next((i.resource for i in evidence if i.resource), None)
    return Leak(
        bound=_group_bound(evidence) if resource is None else None,
        kinds=order_kinds(kinds),
        type=shown.site.type_name or "native memory",
        count_per_iteration=group.count_per_iteration,
        bytes_per_iteration=group.bytes_per_iteration,
        allocated_at=list(shown.site.frames),
        retained_by=retained_by,
        path=path,
        resource=resource.description if resource else None,
        held_by=analysis.holder(shown),
        native_frames=list(analysis.capture.native_frames(shown.site.stack)),
    )


def _group_bound(evidence: list[Evidence]) -> Bound | None:
    """The bound of a group whose every retained site goes through a bounded container."""
    retained = [item for item in evidence if item.site.retention is not None]
    bounds = [item.bound for item in retained]
    if not retained or any(bound is None or not bound.filling for bound in bounds):
        return None
    return bounds[0]


def cyclic_garbage(capture: Any, garbage: list[object]) -> list[CyclicGarbage]:
    """The probe iteration's cyclic garbage by allocation site and type, most objects first."""
    if not garbage:
        return []
    live = {address: (size, stack) for address, size, _seq, stack in capture.live_allocations()}
    frames_of: dict[int, tuple[Frame, ...]] = {}
    # By type and innermost frame: the same line reached through different callers is one row.
    totals: dict[tuple[Frame, str], list[Any]] = {}
    for obj in garbage:
        found = live.get(allocation_address(obj))
        if found is None:
            continue  # allocated before tracing: garbage the unit did not make
        size, stack = found
        if stack not in frames_of:
            frames_of[stack] = trim_frames(capture.stack_frames(stack))
        frames = frames_of[stack]
        if not frames:
            continue
        entry = totals.setdefault((frames[0], type_name(obj)), [0, 0, frames])
        entry[0] += 1
        entry[1] += size
    rows = [
        CyclicGarbage(kind, float(count), float(size), list(frames))
        for (_frame, kind), (count, size, frames) in totals.items()
    ]
    return sorted(rows, key=lambda row: (-row.objects_per_iteration, row.type))
