#pragma once
// Labels of references, computed on demand for display (never stored for every edge): how a
// person would name the step from one object to another (`['user-7']`, `.parent`, `[3]`, a
// closure cell's variable, a frame local...). Live objects only, under the GIL; runs no Python code.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/heap/heap_compat.h"

namespace memhound::heap {

// The label-kind vocabulary shared with the Python package and the leak classifier
// (CONTRACTS.md). Connector marks a step that only leads into a container the next step names
// (a module's or instance's __dict__, a function's closure or defaults tuple): paths hide it.
enum class EdgeKind : std::uint8_t {
    DictKey,
    Attribute,
    Slot,
    Index,
    SetMember,
    ClosureCell,
    Default,
    KwDefault,
    Local,
    ClassDict,
    Traceback,
    BoundSelf,
    BoundFunc,
    GenFrame,
    ModuleGlobal,
    Tls,
    CellContents,
    Other,
    Connector,
};

const char* edgeKindName(EdgeKind kind);

struct EdgeLabel {
    EdgeKind kind = EdgeKind::Other;
    std::string text;   // key repr, attribute or variable name, index...
    std::string owner;  // the function or code a closure cell, default or local belongs to
};

// The label of the reference `from` -> `to`. `before` is the object the path came from to reach
// `from` (or nullptr): it names entries of connector containers (a module's __dict__ key is a
// module global). Returns false when `from` does not reference `to`.
bool labelEdge(PyObject* before, PyObject* from, PyObject* to, EdgeLabel& label);

// Labels every entry of a dict, list, tuple or set in one pass (a save labels many children of
// one big container). Returns false, calling nothing, for other types.
// `wants` filters the entries worth a label (labels of keys cost a repr).
bool labelEntries(PyObject* before, PyObject* from, const std::function<bool(PyObject*)>& wants,
                  const std::function<void(PyObject*, const EdgeLabel&)>& emit);

// Short text for an object used as a key or set member: repr for str/int/float/bytes/bool/None
// and tuples of them, `<TypeName>` for anything else (whose repr could run Python code).
std::string shortRepr(PyObject* obj);

}  // namespace memhound::heap
