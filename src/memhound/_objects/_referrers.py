"""refcount(obj) and referrers(obj, depth): who holds an object, each reference named as heap
paths are named.

referrers() takes a heap snapshot (memhound._snapshot), finds the references into the object by
one scan of the graph's edges (memhound._core.edges_into), and names each through the
referrer's own shortest path from a root plus the reference itself (`app.cache['k']`, `mod.f >
<closure of f> cell 'x'`), proving every object live before touching it. A referrer that is only
part of another object (a __dict__, a closure tuple, a closure's cell) is reported as that
object. Frame locals are
referrers too (`Thread 'MainThread' > f() local 'y'`); memhound's own frames are not.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass

from memhound import _core
from memhound._errors import UsageError
from memhound._snapshot import HIDDEN_EDGE, Path, Snapshot, Step, own_code, snapshot
from memhound.report._format import format_bytes

MAX_LISTED = 100  # referrers listed per object; the others are counted
EXTERNAL_LABEL = "<held outside the heap: by C code or the interpreter>"


class Immortal:
    """refcount()'s answer for an object CPython 3.12+ never frees (None, small ints, interned
    strings, static types): its reference count field is a marker, not a count of references."""

    def __repr__(self) -> str:
        return "immortal (CPython 3.12+ never frees it; its reference count is not counted)"


IMMORTAL = Immortal()  # the only instance


def refcount(obj: object) -> int | Immortal:
    """The number of references to `obj` as seen by the calling code: sys.getrefcount without
    the references of this call itself (the calling code's own variable counts). IMMORTAL for an
    object CPython 3.12+ never frees. From C callers (map(), functools.partial) the count also
    includes the reference the C caller holds for the call."""
    if _core.is_immortal(obj):
        return IMMORTAL
    return sys.getrefcount(obj) - _CALL_REFERENCES


def _call_references() -> int:
    probe = object()  # one reference: this variable
    return refcount(probe) - 1


_CALL_REFERENCES = 0
_CALL_REFERENCES = _call_references()


@dataclass(frozen=True, repr=False)
class Referrer:
    """One reference to the object asked about. `label` names it as a heap path does; `kind` is
    the reference's edge kind (CONTRACTS.md: "attribute", "dict_key", "index", "closure_cell",
    ...), or "frame" for a frame local and "external" for references held outside the heap.
    `type_name` and `size` describe the referring object ("" and 0 for the last two kinds).
    `referrers` lists its own referrers (with depth > 1); `repeated` marks an object already
    listed nearer the object, whose referrers are shown there. `more` counts the referrers of
    this one that were not listed."""

    label: str
    kind: str
    type_name: str
    size: int
    referrers: tuple[Referrer, ...] = ()
    repeated: bool = False
    more: int = 0

    def lines(self, indent: int) -> list[str]:
        pad = "  " * indent
        if self.kind in ("frame", "external"):
            text = self.label
        else:
            text = f"{self.label}  [{self.type_name}, {format_bytes(self.size)}]"
        if self.repeated:
            text += "  (listed above)"
        out = [pad + text]
        for child in self.referrers:
            out += child.lines(indent + 1)
        if self.more:
            out.append(f"{pad}  ... {self.more} more referrers")
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines(0))


@dataclass(frozen=True, repr=False)
class Referrers:
    """referrers(obj, depth)'s answer: the references to the object (`items`), each with its own
    referrers down to `depth` levels. Prints as an indented tree."""

    type_name: str
    size: int
    depth: int
    items: tuple[Referrer, ...] = ()
    more: int = 0

    @property
    def labels(self) -> list[str]:
        """The labels of the direct referrers."""
        return [item.label for item in self.items]

    def __iter__(self) -> Iterator[Referrer]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Referrer:
        return self.items[index]

    def __repr__(self) -> str:
        title = f"referrers of this {self.type_name} ({format_bytes(self.size)})"
        if not self.items:
            return title + ": none in the heap"
        lines = [title + (f", {self.depth} levels:" if self.depth > 1 else ":")]
        for item in self.items:
            lines += item.lines(1)
        if self.more:
            lines.append(f"  ... {self.more} more referrers")
        return "\n".join(lines)

    __str__ = __repr__


@dataclass
class _Entry:
    """A reference found into a node: its label and kind, and the node reported as the referrer
    (None for a root), with whether its own referrers are listed under it."""

    label: str
    kind: str
    node: int | None
    expand: bool = False


class _Finder:
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.roots: dict[int, list[tuple[str, str]]] = {}
        for node, kind, label in snap._core.roots():
            if kind in ("frame", "external"):
                self.roots.setdefault(int(node), []).append((kind, label))
        self.found: dict[int, tuple[list[_Entry], int]] = {}  # node -> (entries, not listed)

    def search(self, target: int, depth: int) -> None:
        """Finds the referrers of target, level by level; each node's own referrers are listed
        once, under the nearest of its appearances."""
        seen = {target}
        frontier = [target]
        for _level in range(depth):
            wanted = [node for node in frontier if node not in self.found]
            edges: dict[int, list[int]] = {node: [] for node in wanted}
            for source, to in _core.edges_into(self.snap._core, wanted):
                edges[int(to)].append(int(source))
            frontier = []
            for node in wanted:
                entries, more = self._entries(node, edges[node])
                for entry in entries:
                    if entry.node is not None and entry.node not in seen:
                        seen.add(entry.node)
                        entry.expand = True
                        frontier.append(entry.node)
                self.found[node] = (entries, more)

    def _entries(self, node: int, sources: list[int]) -> tuple[list[_Entry], int]:
        listed = sources[:MAX_LISTED]
        entries = [self._entry(source, node) for source in listed]
        for kind, label in self.roots.get(node, []):
            entries.append(_Entry(EXTERNAL_LABEL if kind == "external" else label, kind, None))
        entries.sort(key=lambda entry: (entry.kind in ("frame", "external"), entry.label))
        return entries, len(sources) - len(listed)

    def _entry(self, source: int, target: int) -> _Entry:
        root_kind, root_label, start, raw = self.snap._core.path_via(source, target)
        chain = [int(start), *(int(step[3]) for step in raw)]  # ends with source, target
        kinds = [str(step[0]) for step in raw]  # kinds[i]: the step into chain[i + 1]
        at = len(chain) - 2  # the source
        if kinds[-1] == "cell_contents" and at >= 1 and kinds[at - 1] == "closure_cell":
            at -= 1  # a closure's cell: part of the closure tuple
        if at >= 1 and kinds[at - 1] == HIDDEN_EDGE:
            at -= 1  # a __dict__ or closure tuple: part of its owner, the referrer
        reported = chain[at]
        steps = self.snap._steps(raw)
        if root_kind is None:
            previous: Step | None = None
            text = f"<{self.snap.node_type(source)}>"
            for step in steps:
                text += step.render(previous)
                previous = step
        else:
            text = str(Path(root_kind, root_label, self.snap.node_type(int(start)), steps))
        return _Entry(text, raw[-1][0], reported)

    def tree(self, node: int, depth: int) -> tuple[tuple[Referrer, ...], int]:
        entries, more = self.found.get(node, ([], 0))
        items = []
        for entry in entries:
            children: tuple[Referrer, ...] = ()
            child_more = 0
            if entry.node is not None and entry.expand and depth > 1:
                children, child_more = self.tree(entry.node, depth - 1)
            is_object = entry.node is not None
            items.append(
                Referrer(
                    label=entry.label,
                    kind=entry.kind,
                    type_name=self.snap.node_type(entry.node) if is_object else "",
                    size=self.snap.node_size(entry.node) if is_object else 0,
                    referrers=children,
                    repeated=is_object and not entry.expand and depth > 1,
                    more=child_more,
                )
            )
        return tuple(items), more


def check_depth(depth: int) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise UsageError(f"depth must be an int of at least 1, not {depth!r}")
    return depth


def referrers(obj: object, depth: int = 1) -> Referrers:
    """Who refers to `obj`: each reference labelled as heap paths are (`app.cache['k']`,
    `Thread 'MainThread' > f() local 'y'`), with, for depth > 1, the referrers of each referrer
    down to `depth` levels. memhound's own frames are not counted. Takes a heap snapshot."""
    depth = check_depth(depth)
    snap = snapshot()
    node = snap.node_of(obj)
    if node is None:
        # No object, root or frame reached it: nothing but this call refers to it.
        return Referrers(_core.type_name(type(obj)), sys.getsizeof(obj), depth)
    finder = _Finder(snap)
    finder.search(node, depth)
    items, more = finder.tree(node, depth)
    return Referrers(snap.node_type(node), snap.node_size(node), depth, items, more)


own_code(referrers)
