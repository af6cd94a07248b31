"""From growing allocation sites to distinct leaks.

The objects one iteration leaks usually come from a few lines (an entry dict, its inner dict,
its strings); they are one leak, reported once. Sites are grouped by what retains them:

- objects reachable from a root: by their retention *anchor*, the path up to and including
  the first step into a container (`AUDIT[*]`, `Widget.registry[*]`), or the whole path when
  there is none. An entry and everything hanging below it share the anchor.
- garbage (unreachable objects, kept only by reference cycles): one group per unit-of-work
  function, since the members of one leaked structure are garbage together.
- allocations that are no Python object (buffers, raw memory): they join the object group
  allocated by the same statement or by a call made from it (a list and its item buffer, an
  instance and its attribute values); left alone, they are `native` memory.

Pure functions over `SiteEvidence`, so the grouping is tested on fabricated sites.
"""

from __future__ import annotations

from dataclasses import dataclass

from memhound._leaks._kinds import CONTAINER_EDGES, Retention
from memhound._leaks._model import Frame


@dataclass(frozen=True)
class SiteEvidence:
    """What the detector knows about one growing site."""

    stack: int
    frames: tuple[Frame, ...]  # innermost first, trimmed to the unit of work
    count_per_iteration: float
    bytes_per_iteration: float
    type_name: str | None = None  # type of its representative object; None: no object
    retention: Retention | None = None  # path from a root to the representative object
    unreachable: bool = False  # the representative object is garbage (kept by a cycle)
    # The allocation is a container's storage (a dict's keys, a list's items), not the object:
    # its stack may be a stale one when the storage came from a free list.
    storage: bool = False

    @property
    def is_object(self) -> bool:
        return self.type_name is not None


@dataclass
class SiteGroup:
    """Sites leaking together."""

    key: tuple[object, ...]
    sites: list[SiteEvidence]

    @property
    def count_per_iteration(self) -> float:
        return sum(site.count_per_iteration for site in self.sites)

    @property
    def bytes_per_iteration(self) -> float:
        return sum(site.bytes_per_iteration for site in self.sites)

    @property
    def is_native(self) -> bool:
        return not any(site.is_object for site in self.sites)


def anchor_key(retention: Retention) -> tuple[object, ...]:
    """The root and the steps up to the first container step, whose label becomes `*`.

    Objects held outside the heap (by C code) are roots of their own, one per object: the
    registry that holds them is not visible, so they are grouped by the type held instead.
    """
    if retention.root_kind == "external":
        return (retention.root_kind, retention.root_type, "*")
    key: list[object] = [retention.root_kind, retention.root_label]
    for step in retention.steps:
        if step.edge_kind in CONTAINER_EDGES:
            key.append((step.edge_kind, "*"))
            break
        key.append((step.edge_kind, step.label))
    return tuple(key)


def group_sites(sites: list[SiteEvidence]) -> list[SiteGroup]:
    """Distinct leaks, biggest growth in bytes first."""
    groups: dict[tuple[object, ...], SiteGroup] = {}
    loose: list[SiteEvidence] = []
    for site in sites:
        key = _object_key(site)
        if key is None:
            loose.append(site)
        else:
            groups.setdefault(key, SiteGroup(key, [])).sites.append(site)
    object_groups = list(groups.values())
    for site in loose:
        owner = _owner_group(site, object_groups)
        if owner is None:
            key = ("native", site.stack)
            groups[key] = SiteGroup(key, [site])
        else:
            owner.sites.append(site)
    return sorted(groups.values(), key=lambda group: -group.bytes_per_iteration)


def _object_key(site: SiteEvidence) -> tuple[object, ...] | None:
    if site.retention is not None:
        return ("path", *anchor_key(site.retention))
    if site.unreachable:
        outermost = site.frames[-1] if site.frames else None
        return (
            "cycle",
            outermost.file if outermost else "",
            outermost.function if outermost else "",
        )
    if site.is_object:
        return ("unexplained", site.stack)
    return None


def _owner_group(site: SiteEvidence, groups: list[SiteGroup]) -> SiteGroup | None:
    best: tuple[int, float] | None = None
    owner: SiteGroup | None = None
    for group in groups:
        for candidate in group.sites:
            shared = _shared_statement_depth(site.frames, candidate.frames)
            if shared == 0:
                continue
            score = (shared, candidate.bytes_per_iteration)
            if best is None or score > best:
                best, owner = score, group
    return owner


def _shared_statement_depth(inner: tuple[Frame, ...], outer: tuple[Frame, ...]) -> int:
    """How many frames two stacks share when one was allocated by the other's statement.

    Either `outer` is a suffix of `inner` (the buffer was allocated in a call made from the
    statement that allocated the object), or both stacks are the same function activation
    at different lines. 0 when neither holds.
    """
    if not inner or not outer:
        return 0
    if len(outer) <= len(inner) and inner[len(inner) - len(outer) :] == outer:
        return len(outer)
    same_caller = inner[1:] == outer[1:]
    same_function = (inner[0].file, inner[0].function) == (outer[0].file, outer[0].function)
    return len(outer) if same_caller and same_function else 0
