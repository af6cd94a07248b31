"""asizeof: how much memory an object graph takes, each object counted once.

The traversal runs in C++ (memhound._core): breadth-first through every object's references
(`tp_traverse`), so an object shared by two parts of a graph belongs to the one closer to the
start. An object's flat size is `sys.getsizeof`'s, plus the attribute values an instance keeps
outside a dict, rounded up to `align` bytes. Classes, modules, code objects and a function's
globals and builtins are program structure, not data: they are neither counted nor followed unless
asked (`structure=True`, `code=True`); an object passed in is always counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memhound import _core
from memhound._errors import UsageError
from memhound._snapshot import Step

_REPR_WIDTH = 60


def asizeof(
    *objs: object,
    limit: int | None = None,
    code: bool = False,
    structure: bool = False,
    align: int = 8,
) -> int:
    """Bytes of `objs` and everything they reference, each object counted once.

    `limit`: the deepest level of references followed (0: the objects themselves only; None: all).
    `code`: count code objects too. `structure`: count and follow classes, modules and functions'
    globals. `align`: flat sizes are rounded up to a multiple of this power of two (1: exact)."""
    return sum(asizesof(*objs, limit=limit, code=code, structure=structure, align=align))


def asizesof(
    *objs: object,
    limit: int | None = None,
    code: bool = False,
    structure: bool = False,
    align: int = 8,
) -> tuple[int, ...]:
    """The size of each object in `objs`, in order; an object reachable from several is counted in
    the first that reaches it, so the sizes add up to `asizeof(*objs)`."""
    _check(limit, align)
    return tuple(_core.asizesof(list(objs), limit, code, structure, align))


@dataclass
class Asized:
    """One object of a size tree: `size` is its flat size plus the sizes of the objects it owns
    (those it reaches first), `refs` those owned objects, largest first, named as heap paths name
    references (`.name`, `['key']`, `[3]`). Prints as an indented tree, at a pdb prompt too."""

    name: str
    type_name: str
    value: str
    size: int
    flat: int
    refs: list[Asized] = field(default_factory=list)

    def format(self, depth: int | None = None) -> str:
        """The tree as text, `depth` levels deep (None: as deep as it was sized)."""
        lines: list[str] = []
        self._format(lines, 0, depth)
        return "\n".join(lines)

    def _format(self, lines: list[str], indent: int, depth: int | None) -> None:
        what = self.type_name if self.value.startswith("<") else self.value
        head = f"{self.name}: {what}" if self.name else what
        lines.append(f"{'    ' * indent}{head}  size={self.size:,} flat={self.flat:,}")
        if depth is not None and indent >= depth:
            return
        for ref in self.refs:
            ref._format(lines, indent + 1, depth)

    def get(self, name: str) -> Asized | None:
        """The owned object reached through the reference named `name` (e.g. `.parent`)."""
        return next((ref for ref in self.refs if ref.name == name), None)

    def __str__(self) -> str:
        return self.format()

    __repr__ = __str__


def asized(
    obj: object,
    detail: int = 0,
    *,
    limit: int | None = None,
    code: bool = False,
    structure: bool = False,
    align: int = 8,
) -> Asized:
    """The size tree of `obj`: its total size (as `asizeof(obj)`) and, down to `detail` levels,
    what each owned object contributes."""
    _check(limit, align)
    if not isinstance(detail, int) or detail < 0:
        raise UsageError(f"detail must be a non-negative integer, not {detail!r}")
    rows = _core.asized_rows(obj, detail, limit, code, structure, align)
    nodes: list[Asized] = []
    for parent, flat, owned, type_name, value, kind, label, owner in rows:
        node = Asized("", type_name, _clip(value), owned, flat)
        if parent >= 0:
            node.name = _reference_name(Step(kind, label, type_name, owner))
            nodes[parent].refs.append(node)
        nodes.append(node)
    for node in nodes:
        node.refs.sort(key=lambda ref: ref.size, reverse=True)
    return nodes[0]


def _reference_name(step: Step) -> str:
    """`.name`, `['key']`, `[3]`, `<key 'k'>`: a step of a heap path, without the ` > ` that
    joins it to a previous step."""
    if step.edge_kind == "other" and step.label.startswith("<"):
        return step.label
    return step.render().removeprefix(" > ")


def _check(limit: int | None, align: int) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise UsageError(f"limit must be None or a non-negative integer, not {limit!r}")
    if not isinstance(align, int) or align < 1 or align & (align - 1):
        raise UsageError(f"align must be a power of two (1 for exact sizes), not {align!r}")


def _clip(text: str) -> str:
    return text if len(text) <= _REPR_WIDTH else text[: _REPR_WIDTH - 3] + "..."
