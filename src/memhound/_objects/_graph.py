"""graph(obj): the reference graph around an object, as Graphviz DOT, SVG or PNG.

From the object's node in a fresh heap snapshot, a breadth-first search over the references into
it (direction="referrers") or out of it ("referents"), `depth` levels deep and at most
`max_nodes` objects. Each node reads its type, a short description and its size; each edge the
reference's label as heap paths name it (`.cache`, `['k']`, `[3]`). Frame locals that hold a
node are drawn as roots. The description never runs the program's code: it is a repr only for
strings, numbers and other built-in atoms, a length for containers, a name for modules,
classes, functions and code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass
from typing import Literal

from memhound._core import edges_into, type_name
from memhound._errors import MemhoundError, UsageError
from memhound._objects._referrers import EXTERNAL_LABEL, check_depth
from memhound._snapshot import HIDDEN_EDGE, Snapshot, own_code, snapshot
from memhound.report._format import format_bytes

Direction = Literal["referrers", "referents"]
RENDERED = {".svg": "svg", ".png": "png"}
TEXT_SUFFIXES = (".dot", ".gv")
REPR_WIDTH = 40
DOT_TIMEOUT_S = 120


@dataclass(frozen=True)
class GraphNode:
    """An object of the graph (`kind` "object"), or a root that holds one ("frame",
    "external"); `id` is the snapshot node for objects."""

    id: str
    kind: str
    type_name: str
    text: str
    size: int
    is_target: bool = False


@dataclass(frozen=True)
class GraphEdge:
    """A reference from `source` to `target` (GraphNode ids), labelled as a heap path step."""

    source: str
    target: str
    label: str


@dataclass(frozen=True, repr=False)
class ReferenceGraph:
    """The reference graph around one object: `nodes`, `edges`, the Graphviz text (`dot`).
    `truncated` says max_nodes cut the search short; `path` is the file written, if any."""

    direction: str
    depth: int
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    truncated: bool
    path: str | None = None

    @property
    def dot(self) -> str:
        return to_dot(self)

    def save(self, path: str | os.PathLike[str]) -> ReferenceGraph:
        """Writes the graph to `path`: DOT text for .dot/.gv, rendered by Graphviz for .svg/.png."""
        name = os.fspath(path)
        write_graph(self.dot, name)
        return ReferenceGraph(
            self.direction, self.depth, self.nodes, self.edges, self.truncated, name
        )

    def __repr__(self) -> str:
        target = next((node for node in self.nodes if node.is_target), None)
        about = f" around this {target.type_name}" if target is not None else ""
        lines = [
            f"reference graph{about} ({self.direction}, depth {self.depth}): "
            f"{len(self.nodes)} nodes, {len(self.edges)} edges"
            + (" (cut at max_nodes)" if self.truncated else "")
            + (f", written to {self.path}" if self.path else "")
        ]
        names = {node.id: _caption(node) for node in self.nodes}
        lines += [f"  {names[e.source]} --{e.label}--> {names[e.target]}" for e in self.edges]
        return "\n".join(lines)


def _caption(node: GraphNode) -> str:
    if node.kind != "object":
        return node.text
    return f"{node.type_name} {node.text}".rstrip()


def graph(
    obj: object,
    depth: int = 3,
    path: str | os.PathLike[str] | None = None,
    direction: Direction = "referrers",
    max_nodes: int = 60,
) -> ReferenceGraph:
    """The reference graph around `obj`: its referrers (or, with direction="referents", what it
    refers to) `depth` levels deep, at most `max_nodes` objects. With `path`, also writes it:
    DOT text for .dot/.gv, SVG or PNG (Graphviz's `dot` program must be installed) for
    .svg/.png. Takes a heap snapshot."""
    depth = check_depth(depth)
    if direction not in ("referrers", "referents"):
        raise UsageError(f"direction must be 'referrers' or 'referents', not {direction!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise UsageError(f"max_nodes must be a positive int, not {max_nodes!r}")
    name = None if path is None else os.fspath(path)
    if name is not None:
        _check_destination(name)
    snap = snapshot()
    node = snap.node_of(obj)
    if node is None:
        # Not found by the walk: only this call refers to it, and (no GC header) it refers to
        # nothing either.
        alone = GraphNode(
            "n", "object", type_name(type(obj)), describe(obj), sys.getsizeof(obj), True
        )
        result = ReferenceGraph(direction, depth, (alone,), (), False)
    else:
        result = _Builder(snap, direction, max_nodes).build(node, depth)
    return result.save(name) if name is not None else result


class _Builder:
    def __init__(self, snap: Snapshot, direction: str, max_nodes: int) -> None:
        self.snap = snap
        self.direction = direction
        self.max_nodes = max_nodes
        self.nodes: dict[str, GraphNode] = {}
        self.edges: list[GraphEdge] = []
        self.truncated = False
        self.roots: dict[int, list[tuple[int, str, str]]] = {}
        for index, (root_node, kind, label) in enumerate(snap._core.roots()):
            if kind in ("frame", "external"):
                self.roots.setdefault(int(root_node), []).append((index, kind, label))

    def build(self, target: int, depth: int) -> ReferenceGraph:
        self._add_object(target, is_target=True)
        frontier = [target]
        for _level in range(depth):
            frontier = self._next_level(frontier)
            if not frontier:
                break
        return ReferenceGraph(
            self.direction, depth, tuple(self.nodes.values()), tuple(self.edges), self.truncated
        )

    def _next_level(self, frontier: list[int]) -> list[int]:
        if self.direction == "referents":
            pairs = [(node, int(w)) for node in frontier for w in self.snap._core.successors(node)]
        else:
            pairs = [(int(s), int(t)) for s, t in edges_into(self.snap._core, frontier)]
        found: list[int] = []
        for source, to in dict.fromkeys(pairs):
            new = to if self.direction == "referents" else source
            if f"n{new}" not in self.nodes:
                if len(self.nodes) >= self.max_nodes:
                    self.truncated = True
                    continue
                self._add_object(new)
                found.append(new)
            self.edges.append(GraphEdge(f"n{source}", f"n{to}", self._label(source, to)))
        if self.direction == "referrers":
            for node in frontier:
                self._add_roots(node)
        return found

    def _add_roots(self, node: int) -> None:
        for root, kind, label in self.roots.get(node, []):
            if len(self.nodes) >= self.max_nodes:
                self.truncated = True
                return
            key = f"r{root}"
            text = EXTERNAL_LABEL if kind == "external" else label
            self.nodes[key] = GraphNode(key, kind, "", text, 0)
            self.edges.append(GraphEdge(key, f"n{node}", ""))

    def _add_object(self, node: int, is_target: bool = False) -> None:
        obj = self.snap.node_object(node)
        text = describe(obj) if obj is not None else ""
        self.nodes[f"n{node}"] = GraphNode(
            f"n{node}",
            "object",
            self.snap.node_type(node),
            text,
            self.snap.node_size(node),
            is_target,
        )

    def _label(self, source: int, to: int) -> str:
        _kind, _label, _start, raw = self.snap._core.path_via(source, to)
        if raw[-1][0] == HIDDEN_EDGE:  # into a __dict__ or closure tuple, which paths skip
            return str(raw[-1][1])
        steps = self.snap._steps(raw)
        previous = steps[-2] if len(steps) >= 2 else None
        # a cell's contents read as nothing in a path after the cell's name: name them here
        return steps[-1].render(previous).removeprefix(" > ") or steps[-1].label


def describe(obj: object) -> str:
    """A short description that runs none of the program's code (see the module docstring)."""
    kind = type(obj)
    if obj is None or kind in (bool, int, float, complex):
        return _clip(repr(obj))
    if kind in (str, bytes):
        return _clip(repr(obj))
    if kind in (list, tuple, dict, set, frozenset, bytearray):
        return f"len {len(obj)}"  # type: ignore[arg-type]
    if issubclass(kind, types.ModuleType):
        return str(vars(obj).get("__name__", "?"))
    if issubclass(kind, type):
        return str(type.__dict__["__qualname__"].__get__(obj))
    if kind in (types.FunctionType, types.BuiltinFunctionType):
        return f"{obj.__qualname__}()"  # type: ignore[union-attr]
    if kind is types.MethodType:
        return f"{obj.__func__.__qualname__}()"  # type: ignore[union-attr]
    if kind is types.CodeType:
        return f"code of {obj.co_qualname}()"  # type: ignore[union-attr]
    if kind is types.FrameType:
        return f"{obj.f_code.co_qualname}() line {obj.f_lineno}"  # type: ignore[union-attr]
    return f"at {id(obj):#x}"


def _clip(text: str) -> str:
    return text if len(text) <= REPR_WIDTH else text[: REPR_WIDTH - 3] + "..."


# ---- DOT text and rendering ------------------------------------------------------------------


def _quoted(text: str) -> str:
    """A DOT string: quotes and backslashes escaped, control characters dropped, lines joined
    with DOT's own line break."""
    cleaned = "".join(ch if ch.isprintable() or ch == "\n" else "?" for ch in text)
    escaped = cleaned.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def to_dot(graph: ReferenceGraph) -> str:
    lines = [
        "digraph memhound {",
        (
            '  node [shape=box, style="rounded,filled", fillcolor="#eef2f7", '
            'fontname="Helvetica", fontsize=10];'
        ),
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for node in graph.nodes:
        if node.kind == "object":
            label = "\n".join(
                part for part in (node.type_name, node.text, format_bytes(node.size)) if part
            )
            fill = "#ffd27f" if node.is_target else "#eef2f7"
            lines.append(f"  {node.id} [label={_quoted(label)}, fillcolor={_quoted(fill)}];")
        else:
            lines.append(
                f'  {node.id} [label={_quoted(node.text)}, shape=ellipse, fillcolor="#e3f1e0"];'
            )
    for edge in graph.edges:
        lines.append(f"  {edge.source} -> {edge.target} [label={_quoted(edge.label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _check_destination(name: str) -> None:
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in RENDERED and suffix not in TEXT_SUFFIXES:
        raise UsageError(f"cannot write {name}: the file name must end in .dot, .gv, .svg or .png")
    directory = os.path.dirname(os.path.abspath(name))
    if not os.path.isdir(directory):
        raise UsageError(f"cannot write {name}: directory {directory} does not exist")
    if suffix in RENDERED and shutil.which("dot") is None:
        raise MemhoundError(
            f"cannot write {name}: rendering {suffix} needs Graphviz's `dot` program, which is "
            "not installed (Debian/Ubuntu: apt-get install graphviz); a .dot file needs nothing"
        )


def write_graph(text: str, name: str) -> None:
    """Writes DOT text to `name`, or renders it there with Graphviz (by the file's suffix)."""
    _check_destination(name)
    suffix = os.path.splitext(name)[1].lower()
    try:
        if suffix in TEXT_SUFFIXES:
            with open(name, "w", encoding="utf-8") as handle:
                handle.write(text)
            return
        done = subprocess.run(
            ["dot", f"-T{RENDERED[suffix]}", "-o", name],
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except OSError as exc:
        raise MemhoundError(f"cannot write {name}: {exc.strerror or exc}") from None
    except subprocess.TimeoutExpired:
        raise MemhoundError(f"cannot write {name}: dot ran over {DOT_TIMEOUT_S} s") from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MemhoundError(
            f"cannot write {name}: dot failed ({reason[0] if reason else done.returncode})"
        )


own_code(graph)
