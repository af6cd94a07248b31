"""From the capture, the heap snapshot and the resource census to the list of leaks.

For each growing site (see _growth) the detector picks a representative live allocation made
inside the growth window (it survived several checkpoints, so it is leaked, not a temporary),
finds its object in the heap snapshot by allocation address, and reads that object's retention
path, type, and whether it is an open resource. Sites are then grouped into distinct leaks
(_group) and each group is turned into a Leak with its kinds (_kinds).
"""

from __future__ import annotations

import os
import struct
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from memhound._leaks._fdprobe import PACKAGE_DIR
from memhound._leaks._group import SiteEvidence, SiteGroup, group_sites
from memhound._leaks._growth import Growth, window_for
from memhound._leaks._kinds import TASK_TYPES, Retention, Step, classify, short_type
from memhound._leaks._model import CyclicGarbage, Frame, Leak, PathEdge, order_kinds
from memhound._leaks._resources import Census, OpenResource, type_name

# CPython 3.11 _PyType_PreHeaderSize: the GC header, then two pointers for a managed dict.
_POINTER = struct.calcsize("P")
_TPFLAGS_MANAGED_DICT = 1 << 4
_TPFLAGS_HAVE_GC = 1 << 14


def allocation_address(obj: object) -> int:
    """The address the allocator returned for `obj` (what the tracer records)."""
    flags = type(obj).__flags__
    preheader = (2 * _POINTER if flags & _TPFLAGS_HAVE_GC else 0) + (
        2 * _POINTER if flags & _TPFLAGS_MANAGED_DICT else 0
    )
    return id(obj) - preheader


def trim_frames(frames: Iterable[dict[str, Any]]) -> tuple[Frame, ...]:
    """Innermost-first frames up to (not including) the first frame of memhound itself."""
    trimmed: list[Frame] = []
    for frame in frames:
        if str(frame["file"]).startswith(PACKAGE_DIR + os.sep):
            break
        trimmed.append(Frame(str(frame["file"]), int(frame["line"]), str(frame["function"])))
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


class Analysis:
    """One capture + one snapshot + the census after the run, queried site by site."""

    def __init__(self, capture: Any, snapshot: Any, census: Census, checkpoints: Sequence[int]):
        self.capture = capture
        self.snapshot = snapshot
        self.census = census
        self.checkpoints = list(checkpoints)
        self._unreachable: set[int] | None = None
        self._live: dict[int, list[Allocation]] | None = None

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

    def unreachable(self) -> set[int]:
        if self._unreachable is None:
            self._unreachable = set(self.snapshot.unreachable_nodes())
        return self._unreachable

    def representative(self, stack: int, iterations: int) -> int | None:
        """The node of the oldest live allocation of `stack` made inside the growth window."""
        window_start = self.checkpoints[len(self.checkpoints) - 1 - window_for(iterations)]
        allocations = self.live_by_stack().get(stack, [])
        in_window = [a for a in allocations if a.seq >= window_start]
        for allocation in [*in_window, *reversed(allocations)]:
            node = self.snapshot.node_of_allocation(allocation.address)
            if node is not None:
                return node
        return None

    # ---- sites --------------------------------------------------------------------------------

    def evidence(self, growth: Growth, iterations: int) -> Evidence | None:
        frames = trim_frames(self.capture.stack_frames(growth.stack))
        if not frames:
            return None  # memhound's own bookkeeping between iterations
        node = self.representative(growth.stack, iterations)
        base: dict[str, Any] = {
            "stack": growth.stack,
            "frames": frames,
            "count_per_iteration": growth.count_per_iteration,
            "bytes_per_iteration": growth.bytes_per_iteration,
        }
        if node is None:
            return Evidence(SiteEvidence(**base), None, None, None)
        path = self.snapshot.path_to_node(node)
        retention = _retention(path) if path is not None else None
        site = SiteEvidence(
            **base,
            type_name=self.snapshot.node_type(node),
            retention=retention,
            unreachable=path is None and node in self.unreachable(),
        )
        rendered = str(path) if path is not None else None
        obj = self.snapshot.node_object(node)
        resource = self.census.by_object.get(id(obj)) if obj is not None else None
        return Evidence(site, node, rendered, resource)

    def cycle_text(self, evidence: list[Evidence]) -> tuple[str, list[PathEdge]] | None:
        """The first reference cycle through one of the evidence's objects, rendered."""
        for item in evidence:
            if item.node is None or not item.site.unreachable:
                continue
            steps = self.snapshot.cycle_of(item.node)
            if steps:
                owner = item.site.type_name or "?"
                return render_cycle(owner, steps), [_edge(step) for step in steps]
        return None


def _retention(path: Any) -> Retention:
    steps = tuple(Step(s.edge_kind, str(s.label), str(s.type_name)) for s in path.steps)
    return Retention(str(path.root_kind), str(path.root_label), steps)


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


def leaks_from(analysis: Analysis, growth: list[Growth], iterations: int) -> list[Leak]:
    """The distinct leaks among the growing sites, biggest first."""
    found = [analysis.evidence(item, iterations) for item in growth]
    evidence = [item for item in found if item is not None]
    by_stack = {item.site.stack: item for item in evidence}
    groups = group_sites([item.site for item in evidence])
    return [_leak(analysis, group, [by_stack[s.stack] for s in group.sites]) for group in groups]


def _leak(analysis: Analysis, group: SiteGroup, evidence: list[Evidence]) -> Leak:
    primary = group.primary
    primary_evidence = next(item for item in evidence if item.site is primary)
    kinds = classify(primary.retention) if primary.retention else set()
    retained_by = primary_evidence.rendered_path
    path = (
        [PathEdge(s.edge_kind, s.type_name) for s in primary.retention.steps]
        if primary.retention
        else []
    )
    if any(item.site.unreachable for item in evidence):
        kinds.add("cycle")
        cycle = analysis.cycle_text(evidence)
        if cycle is not None:
            retained_by, path = f"reference cycle {cycle[0]}", cycle[1]
    resource = next((item.resource for item in evidence if item.resource), None)
    if resource is not None:
        kinds.add("task" if short_type(resource.type_name) in TASK_TYPES else "resource")
    if primary.type_name and short_type(primary.type_name) in TASK_TYPES:
        kinds.add("task")
    if group.is_native or not kinds:
        kinds.add("native")
    return Leak(
        kinds=order_kinds(kinds),
        type=primary.type_name or "native memory",
        count_per_iteration=group.count_per_iteration,
        bytes_per_iteration=group.bytes_per_iteration,
        allocated_at=list(primary.frames),
        retained_by=retained_by,
        path=path,
        resource=resource.description if resource else None,
    )


def cyclic_garbage(capture: Any, garbage: list[object]) -> list[CyclicGarbage]:
    """The probe iteration's cyclic garbage by allocation site and type, most objects first."""
    if not garbage:
        return []
    live = {address: (size, stack) for address, size, _seq, stack in capture.live_allocations()}
    totals: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for obj in garbage:
        found = live.get(allocation_address(obj))
        if found is None:
            continue  # allocated before tracing: garbage the unit did not make
        entry = totals[(found[1], type_name(obj))]
        entry[0] += 1
        entry[1] += found[0]
    rows = []
    for (stack, kind), (count, size) in totals.items():
        frames = trim_frames(capture.stack_frames(stack))
        if frames:
            rows.append(CyclicGarbage(kind, float(count), float(size), list(frames)))
    return sorted(rows, key=lambda row: (-row.objects_per_iteration, row.type))
