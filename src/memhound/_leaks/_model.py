"""The leak report: plain data that the detector fills and the renderers read.

`LeakReport.to_json()` is the stable JSON schema documented in docs/leaks-json.md; every field
name used there is spelled once, here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from memhound._leaks._bounded import Bound

if TYPE_CHECKING:
    from memhound._leaks._extend import Extension

# Leak kinds, most specific first. A finding lists every kind that applies, in this order:
# the kinds that name the mechanism to fix (an open resource, a pending task, a closure...)
# come before the kinds that only name where the retention is anchored (a class, a module).
KIND_ORDER: tuple[str, ...] = (
    "cycle",
    "resource",
    "task",
    "native",
    "traceback",
    "thread_local",
    "closure",
    "default_argument",
    "listener",
    "cache",
    "class_attribute",
    "global",
)


def order_kinds(kinds: set[str] | list[str]) -> list[str]:
    """The kinds of the vocabulary in `kinds`, most specific first; unknown names are refused."""
    unknown = set(kinds) - set(KIND_ORDER)
    if unknown:
        raise ValueError(f"unknown leak kind(s): {sorted(unknown)}")
    return [kind for kind in KIND_ORDER if kind in kinds]


@dataclass(frozen=True)
class Frame:
    """One frame of an allocation stack."""

    file: str
    line: int
    function: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "function": self.function}

    def __str__(self) -> str:
        return f"{self.function} ({self.file}:{self.line})"


@dataclass(frozen=True)
class PathEdge:
    """One step of a retention path: the kind of edge followed and the type of the object reached."""

    edge: str
    type: str

    def to_json(self) -> dict[str, Any]:
        return {"edge": self.edge, "type": self.type}


PROGRAM = "program"
LIBRARY = "library"


@dataclass(frozen=True)
class Holder:
    """Which side's code holds a leak (PROGRAM or LIBRARY), and the module that decided it."""

    side: str
    module: str | None

    def describe(self) -> str:
        where = f" ({self.module})" if self.module else ""
        return f"the program{where}" if self.side == PROGRAM else f"a library{where}"


@dataclass(frozen=True)
class Leak:
    """One distinct leak: objects (or raw bytes, or OS resources) that grow every iteration."""

    kinds: list[str]
    type: str
    count_per_iteration: float
    bytes_per_iteration: float
    allocated_at: list[Frame]
    retained_by: str | None = None
    path: list[PathEdge] = field(default_factory=list)
    resource: str | None = None
    # Set when the growth goes through a bounded container that has not reached its bound:
    # a cache filling, reported apart (LeakReport.bounded), not a leak.
    bound: Bound | None = None
    held_by: Holder | None = None  # see _origin: the program's code or a library's
    # --native-frames: the C frames under allocated_at, innermost first (report.NativeFrameRow)
    native_frames: list[dict[str, Any]] = field(default_factory=list)

    @property
    def held_by_program(self) -> bool:
        return self.held_by is not None and self.held_by.side == PROGRAM

    def to_json(self) -> dict[str, Any]:
        return {
            "kinds": list(self.kinds),
            "type": self.type,
            "count_per_iteration": round(self.count_per_iteration, 3),
            "bytes_per_iteration": round(self.bytes_per_iteration, 1),
            "allocated_at": [frame.to_json() for frame in self.allocated_at],
            "retained_by": self.retained_by,
            "path": [edge.to_json() for edge in self.path],
            "resource": self.resource,
            "held_by": self.held_by.side if self.held_by else None,
            "holder_module": self.held_by.module if self.held_by else None,
            "native_frames": list(self.native_frames),
        }


@dataclass(frozen=True)
class CyclicGarbage:
    """Objects from one allocation site that the cyclic collector reclaimed: not a leak, a cost."""

    type: str
    objects_per_iteration: float
    bytes_per_iteration: float
    allocated_at: list[Frame]

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "objects_per_iteration": round(self.objects_per_iteration, 3),
            "bytes_per_iteration": round(self.bytes_per_iteration, 1),
            "allocated_at": [frame.to_json() for frame in self.allocated_at],
        }


@dataclass(frozen=True)
class ResourceCounts:
    """Open resources by type (and open file descriptors as "fd") before and after the iterations."""

    before: dict[str, int]
    after: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "before": dict(sorted(self.before.items())),
            "after": dict(sorted(self.after.items())),
        }

    def grown(self) -> dict[str, int]:
        """Types whose open count went up, with by how much."""
        names = set(self.before) | set(self.after)
        deltas = {name: self.after.get(name, 0) - self.before.get(name, 0) for name in names}
        return {name: delta for name, delta in sorted(deltas.items()) if delta > 0}


# Growth of the RSS that the findings do not explain is worth a hint from this much over the
# window, when it is also this share of the RSS growth: below it, pages and arenas that the
# allocators keep or take in steps make the RSS move by itself.
RSS_GAP_MIN_BYTES = 4 * 2**20
RSS_GAP_SHARE = 0.5


@dataclass(frozen=True)
class RssGrowth:
    """The process's RSS growth per iteration over the window (checkpoint to checkpoint, as the
    leaks' growth is measured) against the growth that the findings and the traced residue
    explain."""

    rss_per_iteration: float
    explained_per_iteration: float
    window: int  # iterations the averages are taken over

    @property
    def unexplained_per_iteration(self) -> float:
        return max(0.0, self.rss_per_iteration - self.explained_per_iteration)

    @property
    def large_gap(self) -> bool:
        unexplained = self.unexplained_per_iteration
        return (
            unexplained * self.window >= RSS_GAP_MIN_BYTES
            and unexplained >= RSS_GAP_SHARE * self.rss_per_iteration
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "rss_bytes_per_iteration": round(self.rss_per_iteration, 1),
            "explained_bytes_per_iteration": round(self.explained_per_iteration, 1),
            "unexplained_bytes_per_iteration": round(self.unexplained_per_iteration, 1),
            "window": self.window,
            "large_gap": self.large_gap,
        }


@dataclass(frozen=True)
class LeakReport:
    """The verdict of one leak check."""

    target: str
    iterations: int
    warmup: int
    duration_s: float
    leaks: list[Leak]
    cyclic_garbage: list[CyclicGarbage]
    resources: ResourceCounts
    # Objects the cyclic collector reclaimed per iteration, all sites together (None: the
    # collector was disabled). The per-site detail is `cyclic_garbage`; the text report shows it.
    collected_per_iteration: float | None = None
    # Growth through bounded containers still filling (each Leak's `bound` says which): not
    # leaks, and not counted by `leaked`.
    bounded: list[Leak] = field(default_factory=list)
    # Set when ambiguous evidence made the check run more rounds than asked (see _extend);
    # `iterations` is then the last round's, and `warmup` counts every call before it.
    extension: Extension | None = None
    # The RSS against the findings; None where the RSS cannot be read.
    memory: RssGrowth | None = None

    @property
    def leaked(self) -> bool:
        return bool(self.leaks)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "iterations": self.iterations,
            "warmup": self.warmup,
            "duration_s": round(self.duration_s, 3),
            "leaks": [leak.to_json() for leak in self.leaks],
            "cyclic_garbage": [entry.to_json() for entry in self.cyclic_garbage],
            "resources": self.resources.to_json(),
            "bounded_caches": [_bounded_json(leak) for leak in self.bounded],
            "extended": self.extension.to_json() if self.extension else None,
            "memory": self.memory.to_json() if self.memory else None,
        }

    def __str__(self) -> str:
        from memhound._leaks._render import render_text

        return render_text(self)


def _bounded_json(leak: Leak) -> dict[str, Any]:
    bound = leak.bound
    assert bound is not None
    return {
        "container": bound.container,
        "entries": bound.entries,
        "limit": bound.limit,
        "type": leak.type,
        "count_per_iteration": round(leak.count_per_iteration, 3),
        "bytes_per_iteration": round(leak.bytes_per_iteration, 1),
        "allocated_at": [frame.to_json() for frame in leak.allocated_at],
        "retained_by": leak.retained_by,
    }
