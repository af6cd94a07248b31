"""explain(obj): why an object is still alive, in one line a person can read.

It takes a fresh snapshot (or uses the one given) and reports the shortest strong path from a
root, the bytes the object keeps alive, or, for an object no root reaches, the reference cycle
that keeps it in memory. The references the caller holds to ask the question (the calling
thread's frame locals and the call's arguments) are not counted as reasons.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from memhound._errors import MemhoundError
from memhound._snapshot import Path, Snapshot, Step, own_code, snapshot
from memhound.report._format import format_bytes


@dataclass(frozen=True, repr=False)
class Explanation:
    """Why one object is alive. `path` is set when a root reaches it; otherwise `cycle` holds the
    reference cycle that keeps it (garbage the collector has not freed)."""

    type_name: str
    shallow_size: int
    retained_size: int
    path: Path | None
    cycle: list[Step] | None

    @property
    def steps(self) -> list[Step]:
        if self.path is not None:
            return self.path.steps
        return self.cycle or []

    @property
    def root_kind(self) -> str | None:
        """ "module", "frame", "builtins" or "external"; None when no root reaches the object."""
        return self.path.root_kind if self.path is not None else None

    @property
    def kept_by_cycle(self) -> bool:
        return self.path is None and bool(self.cycle)

    def __str__(self) -> str:
        if self.path is not None:
            return str(self.path)
        if self.cycle:
            text = f"<{self.type_name}>"
            previous: Step | None = None
            for step in self.cycle:
                text += step.render(previous)
                previous = step
            return f"kept only by a reference cycle: {text} (back to itself)"
        return f"<{self.type_name}> is referenced only by the caller"

    def __repr__(self) -> str:
        """What a prompt (`p memhound.explain(x)` in pdb) shows: the reason and the sizes."""
        return (
            f"{self.type_name} ({format_bytes(self.shallow_size)}, keeps "
            f"{format_bytes(self.retained_size)} alive): {self}"
        )


def explain(obj: object, snap: Snapshot | None = None) -> Explanation:
    """Why `obj` is alive: `str()` gives the path (`app.cache['user-7'][3].parent`), `.steps`
    each step's edge kind, label and type, `.root_kind` the kind of root, `.retained_size` the
    bytes obj keeps alive. Raises MemhoundError when obj is not in the given snapshot."""
    fresh = snap is None
    if snap is None:
        snap = snapshot()
    node = snap.node_of(obj)
    if node is None:
        raise MemhoundError(f"this {type(obj).__name__} object is not in the snapshot")
    if fresh:
        snap._core.drop_caller_roots(node, f"Thread '{threading.current_thread().name}' > ")
    cycle = None if snap.path_to_node(node) is not None else snap.cycle_of(node)
    return Explanation(
        type_name=snap.node_type(node),
        shallow_size=snap.node_size(node),
        retained_size=snap.node_retained_size(node),
        path=snap.path_to_node(node),
        cycle=cycle,
    )


own_code(explain)
