"""Heap snapshots: every live object, how big it is, what keeps it alive.

`snapshot()` walks the heap in C++ (memhound._core) and returns a Snapshot; the graph analyses
(dominators, retained sizes, shortest paths) run on first use. A snapshot taken in this process
can answer questions about live objects (`retained_size(obj)`, `path_to(obj)`); a loaded one
(`load_snapshot`) answers by node id with the path labels saved with it.
"""

from __future__ import annotations

import gc
import os
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from memhound import _core
from memhound._errors import CaptureError, MemhoundError

HIDDEN_EDGE = "connector"  # a step into a __dict__ or closure tuple, named by the next step


@dataclass(frozen=True)
class Step:
    """One reference on a path: its kind (CONTRACTS.md vocabulary), its label and the type of
    the object it leads to. `owner` names the function of a closure cell, default or local."""

    edge_kind: str
    label: str
    type_name: str
    owner: str = ""

    def render(self, previous: Step | None = None) -> str:
        """This step as it reads in a path: `.name`, `['key']`, `[3]`, ` > <closure of f> ...`."""
        kind, label, owner = self.edge_kind, self.label, self.owner
        if kind in ("module_global", "attribute", "slot", "class_dict"):
            return f".{label}"
        if kind in ("dict_key", "index"):
            return f"[{label}]"
        if kind == "set_member":
            return f"{{{label}}}"
        if kind == "closure_cell":
            return f" > <closure of {owner}> cell '{label}'"
        if kind == "cell_contents":
            return (
                ""
                if previous is not None and previous.edge_kind == "closure_cell"
                else ".cell_contents"
            )
        if kind in ("default", "kwdefault"):
            which = "defaults" if kind == "default" else "kwdefaults"
            return f" > <{which} of {owner}> '{label}'"
        if kind in ("local", "gen_frame"):
            return f" > {owner}() local '{label}'"
        if kind == "tls":
            return " > <thread-local storage>"
        if kind in ("traceback", "bound_self", "bound_func") or label.isidentifier():
            return f".{label}"
        return f" > <{self.type_name}>" if label == "?" else f" > <{label}>"


@dataclass(frozen=True)
class Path:
    """The shortest strong path from a root to an object (module globals preferred, then
    frames, then the builtins, then references held outside the heap)."""

    root_kind: str
    root_label: str
    root_type: str
    steps: list[Step]

    def __str__(self) -> str:
        text = self._root_text()
        previous: Step | None = None
        for step in self.steps:
            text += step.render(previous)
            previous = step
        return text

    def _root_text(self) -> str:
        if self.root_kind == "external":
            return f"<{self.root_type} held outside the heap>"
        return self.root_label


@dataclass(frozen=True)
class TypeRow:
    """One row of the census: a type, how many objects, their own bytes and the bytes they keep
    alive (each object counted once even when objects of the type nest)."""

    type: str
    count: int
    shallow_bytes: int
    retained_bytes: int


@dataclass(frozen=True)
class Retainer:
    """An object that keeps much memory alive, with the path that keeps it alive."""

    node: int
    type: str
    shallow_bytes: int
    retained_bytes: int
    path: Path | None


@dataclass(frozen=True)
class DiffRow:
    """Objects of one type new in the newer snapshot (and gone since the older one). `site` is
    the most common allocation site of the new ones, when the tracer ran for both snapshots."""

    type: str
    new_count: int
    new_bytes: int
    gone_count: int
    gone_bytes: int
    site: str | None = None


@dataclass(frozen=True)
class SnapshotDiff:
    rows: list[DiffRow]
    new_nodes: list[int]
    identity: str  # "sequence" (tracer allocation numbers) or "address"

    @property
    def new_count(self) -> int:
        return sum(row.new_count for row in self.rows)

    @property
    def new_bytes(self) -> int:
        return sum(row.new_bytes for row in self.rows)


class Snapshot:
    """A heap snapshot. Create one with `memhound.snapshot()` or `memhound.load_snapshot()`."""

    def __init__(self, core: Any, capture: Any = None) -> None:
        self._core = core
        self._capture = capture  # the tracer's capture, for allocation sites in diff()

    # ---- totals and census ------------------------------------------------------------------

    @property
    def object_count(self) -> int:
        return int(self._core.object_count)

    @property
    def total_size(self) -> int:
        """Sum of the shallow sizes (sys.getsizeof) of every object in the snapshot."""
        return int(self._core.total_size)

    @property
    def edge_count(self) -> int:
        return int(self._core.edge_count)

    @property
    def live(self) -> bool:
        """True for a snapshot of this process (not loaded from a file)."""
        return bool(self._core.live)

    def memory_bytes(self) -> int:
        """Bytes held by the object graph (CSR, sizes, types, addresses, roots)."""
        return int(self._core.graph_bytes)

    def analysis_bytes(self) -> int:
        """Bytes held by the dominator tree, retained sizes and shortest-path tree."""
        return int(_core.analysis_bytes(self._core))

    def compute(self) -> Snapshot:
        """Runs the graph analyses now (otherwise they run on first use)."""
        _core.compute_analyses(self._core)
        return self

    def by_type(self, n: int | None = None) -> list[TypeRow]:
        """Census by type, largest shallow bytes first; the first n rows when n is given."""
        rows = [TypeRow(*row) for row in _core.census(self._core)]
        return rows if n is None else rows[:n]

    def largest(self, n: int = 10) -> list[Retainer]:
        """The n objects that keep the most memory alive, with their paths. Modules and the
        dicts a path only passes through (a module's or instance's __dict__) are left out."""
        result: list[Retainer] = []
        for node in _core.largest(self._core, max(8 * n, 64)):
            if len(result) == n:
                break
            path = self.path_to_node(node)
            hidden = path is not None and (not path.steps or self._ends_in_connector(node))
            if hidden or self.node_type(node) == "module":
                continue
            retained = self.node_retained_size(node)
            result.append(
                Retainer(node, self.node_type(node), self.node_size(node), retained, path)
            )
        return result

    # ---- questions about live objects ----------------------------------------------------------

    def shallow_size(self, obj: object) -> int:
        return self.node_size(self._node(obj))

    def retained_size(self, obj: object) -> int:
        """Bytes freed if obj went away: its own size plus everything only it keeps alive."""
        return self.node_retained_size(self._node(obj))

    def path_to(self, obj: object) -> Path | None:
        """Why obj is alive: the shortest path from a root, or None when no root reaches it."""
        return self.path_to_node(self._node(obj))

    def node_of(self, obj: object) -> int | None:
        """The node of a live object, or None when it is not in the snapshot."""
        if not self.live:
            raise MemhoundError("a loaded snapshot cannot look up live objects; use node ids")
        node = self._core.node_of(obj)
        return None if node is None else int(node)

    def _node(self, obj: object) -> int:
        node = self.node_of(obj)
        if node is None:
            raise MemhoundError(f"this {type(obj).__name__} object is not in the snapshot")
        return node

    # ---- by node id (the leak detector and loaded snapshots) ----------------------------------

    def node_type(self, node: int) -> str:
        return str(self._core.node_type(node))

    def node_size(self, node: int) -> int:
        return int(self._core.node_size(node))

    def node_retained_size(self, node: int) -> int:
        return int(_core.retained_size(self._core, node))

    def node_address(self, node: int) -> int:
        """The allocation address of the object (before its GC header), as the tracer saw it."""
        return int(self._core.node_address(node))

    def object_ids(self) -> list[int]:
        """id() of every node's object as walked (live snapshots only), indexed by node."""
        return list(self._core.object_ids())

    def node_of_allocation(self, address: int) -> int | None:
        node = self._core.node_of_allocation(address)
        return None if node is None else int(node)

    def node_object(self, node: int) -> object | None:
        """The live object of a node, or None when it cannot be proven to be the same object."""
        return self._core.node_object(node)

    def path_to_node(self, node: int) -> Path | None:
        found = self._core.path(node)
        if found is None:
            return None
        root_kind, root_label, root_node, steps = found
        return Path(root_kind, root_label, self.node_type(root_node), self._steps(steps))

    def objects_on_path(self, node: int) -> list[object]:
        """The live objects along the path to `node`, root first (those provably live)."""
        found = self._core.path(node)
        if found is None:
            return []
        _kind, _label, root_node, steps = found
        nodes = [root_node, *(to for _kind, _label, _owner, to in steps)]
        objects = (self._core.node_object(each) for each in nodes)
        return [obj for obj in objects if obj is not None]

    def unreachable_nodes(self) -> list[int]:
        """Objects in memory that no root reaches: garbage the collector has not freed (yet)."""
        return list(_core.unreachable_nodes(self._core))

    def cycle_of(self, node: int) -> list[Step] | None:
        """A shortest reference cycle through node, as the steps that lead back to it."""
        steps = self._core.cycle(node)
        return None if steps is None else self._steps(steps)

    def _steps(self, raw: list[tuple[str, str, str, int]]) -> list[Step]:
        return [
            Step(kind, label, self.node_type(to), owner)
            for kind, label, owner, to in raw
            if kind != HIDDEN_EDGE
        ]

    def _ends_in_connector(self, node: int) -> bool:
        found = self._core.path(node)
        return found is not None and bool(found[3]) and found[3][-1][0] == HIDDEN_EDGE

    # ---- diff and files -----------------------------------------------------------------------

    def diff(self, older: Snapshot) -> SnapshotDiff:
        """Objects new since `older`, by type. Identity is the tracer's allocation sequence
        number when both snapshots have one (CPython reuses addresses), else type + address."""
        by_sequence = bool(older._core.has_sequences and self._core.has_sequences)
        raw_rows, new_nodes = _core.diff_snapshots(older._core, self._core, by_sequence)
        sites = self._sites_by_type(new_nodes) if by_sequence else {}
        rows = [DiffRow(*row, site=sites.get(row[0])) for row in raw_rows]
        return SnapshotDiff(rows, list(new_nodes), "sequence" if by_sequence else "address")

    def _sites_by_type(self, nodes: list[int]) -> dict[str, str]:
        if self._capture is None:
            return {}
        stacks: dict[str, Counter[int]] = {}
        for node in nodes:
            stack = int(self._core.node_stack(node))
            if stack:
                stacks.setdefault(self.node_type(node), Counter())[stack] += 1
        return {
            name: self._site_text(counts.most_common(1)[0][0]) for name, counts in stacks.items()
        }

    def _site_text(self, stack: int) -> str:
        frames = self._capture.stack_frames(stack)
        if not frames:
            return "?"
        top = frames[0]
        return f"{top['file']}:{top['line']} in {top['function']}"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the snapshot, with its path labels, for `memhound.load_snapshot()`."""
        name = os.fspath(path)
        try:
            self._core.save(name)
        except (_core.CoreError, OSError) as exc:
            raise MemhoundError(f"cannot save snapshot to {name}: {exc}") from None

    def __repr__(self) -> str:
        kind = "live" if self.live else "loaded"
        return f"<memhound.Snapshot {kind}: {self.object_count} objects, {self.total_size} bytes>"


def snapshot(collect: bool = False) -> Snapshot:
    """Walks every object of this process (all GC-tracked objects and everything they reach) and
    returns a Snapshot. With collect=True, runs gc.collect() first; never otherwise."""
    if collect:
        gc.collect()
    thread_names = {thread.ident: thread.name for thread in threading.enumerate() if thread.ident}
    capture = _tracer_capture()
    try:
        core = _core.take_snapshot([], thread_names, list(_OWN_CODE))
    except _core.CoreError as exc:
        raise MemhoundError(str(exc)) from None
    if capture is not None:
        core.set_allocations(
            [(address, seq, stack) for address, _size, seq, stack in capture.live_allocations()]
        )
    return Snapshot(core, capture)


def load_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """Reads a snapshot written by Snapshot.save(); a corrupt or foreign file raises
    CaptureError naming the byte offset."""
    name = os.fspath(path)
    try:
        return Snapshot(_core.load_snapshot(name))
    except _core.CaptureError as exc:
        raise CaptureError(f"{name} is not a readable snapshot: {exc}") from None
    except (_core.CoreError, OSError) as exc:
        raise CaptureError(f"cannot read snapshot {name}: {exc}") from None


def _tracer_capture() -> Any:
    """The running tracer's capture so far (flushed), or None when the tracer is off."""
    is_tracing = getattr(_core, "is_tracing", None)
    if is_tracing is None or not is_tracing():
        return None
    _core.flush_tracing()
    path = _core.tracing_path()
    try:
        return _core.read_capture(path)
    except (_core.CaptureError, _core.CoreError):
        return None


# Frames running these functions are the snapshot machinery itself, not roots of the program.
_OWN_CODE: list[object] = [snapshot.__code__]


def own_code(*functions: Any) -> None:
    """Marks more of memhound's functions as machinery whose frames are not roots."""
    _OWN_CODE.extend(function.__code__ for function in functions)
