// memhound._core heap bindings: take, load and query heap snapshots. Thin: conversions only.
// clang-format off
#include "core/heap/heap_compat.h"  // first: it sets Py_BUILD_CORE before Python.h
// clang-format on

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include "bindings/bindings.h"
#include "core/graph/snapshot_file.h"
#include "core/graph/type_census.h"
#include "core/heap/census_walk.h"
#include "core/heap/heap_snapshot.h"
#include "core/heap/type_table.h"
#include "core/heap/walker.h"

namespace nb = nanobind;

namespace memhound::bindings {

namespace {

using heap::HeapSnapshot;
using heap::NodeId;
using StepTuple = std::tuple<std::string, std::string, std::string, std::uint32_t>;

NodeId checkedNode(const HeapSnapshot& snap, std::uint32_t node) {
    if (node >= snap.graph().nodeCount()) throw nb::index_error("node id out of range");
    return NodeId(node);
}

std::vector<StepTuple> stepTuples(const std::vector<heap::PathStep>& steps) {
    std::vector<StepTuple> out;
    for (const heap::PathStep& s : steps)
        out.emplace_back(heap::edgeKindName(s.kind), s.text, s.owner, s.to.value);
    return out;
}

std::unique_ptr<HeapSnapshot> takeSnapshot(nb::list exclude, nb::dict threadNames, nb::list skipCode) {
    heap::WalkOptions options;
    options.exclude.insert(exclude.ptr());
    options.exclude.insert(threadNames.ptr());
    options.exclude.insert(skipCode.ptr());
    for (nb::handle obj : exclude) options.exclude.insert(obj.ptr());
    for (auto [ident, name] : threadNames) {
        options.threadNames[nb::cast<unsigned long>(ident)] = nb::cast<std::string>(name);
    }
    for (nb::handle code : skipCode) options.skipCode.insert(code.ptr());
    return heap::walkHeap(options);
}

std::unique_ptr<HeapSnapshot> loadSnapshot(const std::string& path) {
    return std::make_unique<HeapSnapshot>(graph::loadSnapshot(path), std::vector<heap::TypeMeta>{}, false);
}

nb::object pathOf(HeapSnapshot& snap, std::uint32_t node) {
    std::optional<heap::LabelledPath> path = snap.pathTo(checkedNode(snap, node));
    if (!path) return nb::none();
    const graph::Root& root = snap.graph().roots()[path->root];
    return nb::make_tuple(graph::rootKindName(root.kind), snap.data().rootLabels[root.label],
                          path->start.value, stepTuples(path->steps));
}

nb::object cycleOf(HeapSnapshot& snap, std::uint32_t node) {
    auto steps = snap.cycleOf(checkedNode(snap, node));
    if (!steps) return nb::none();
    return nb::cast(stepTuples(*steps));
}

nb::object nodeObject(HeapSnapshot& snap, std::uint32_t node) {
    PyObject* obj = snap.liveObject(checkedNode(snap, node));
    return obj ? nb::borrow(obj) : nb::none();
}

// (root kind, root label, start node, steps); kind and label are None when no root reaches `from`.
nb::object pathViaOf(HeapSnapshot& snap, std::uint32_t from, std::uint32_t to) {
    heap::LabelledPath path = snap.pathVia(checkedNode(snap, from), checkedNode(snap, to));
    if (path.root == heap::LabelledPath::kNoRoot)
        return nb::make_tuple(nb::none(), nb::none(), path.start.value, stepTuples(path.steps));
    const graph::Root& root = snap.graph().roots()[path.root];
    return nb::make_tuple(graph::rootKindName(root.kind), snap.data().rootLabels[root.label],
                          path.start.value, stepTuples(path.steps));
}

graph::TypeCensus takeCensus(nb::list exclude, nb::list skipCode) {
    heap::CensusOptions options;
    options.exclude.insert(exclude.ptr());
    options.exclude.insert(skipCode.ptr());
    for (nb::handle obj : exclude) options.exclude.insert(obj.ptr());
    for (nb::handle code : skipCode) options.skipCode.insert(code.ptr());
    return heap::censusHeap(options);
}

using TallyTuple = std::tuple<std::string, std::int64_t, std::int64_t>;

std::vector<TallyTuple> tallyTuples(const graph::TypeCensus& census) {
    std::vector<TallyTuple> out;
    for (const graph::TypeTally& row : census.rows()) out.emplace_back(row.type, row.count, row.bytes);
    return out;
}

std::vector<TallyTuple> growthTuples(const graph::TypeCensus& census, const graph::TypeCensus& older,
                                     std::size_t limit) {
    std::vector<TallyTuple> out;
    for (const graph::TypeGrowth& row : census.growthSince(older, limit))
        out.emplace_back(row.type, row.count, row.delta);
    return out;
}

std::vector<std::tuple<std::uint32_t, std::string, std::string>> rootsOf(const HeapSnapshot& snap) {
    std::vector<std::tuple<std::uint32_t, std::string, std::string>> out;
    for (const graph::Root& r : snap.graph().roots()) {
        out.emplace_back(r.node.value, graph::rootKindName(r.kind), snap.data().rootLabels[r.label]);
    }
    return out;
}

}  // namespace

void bindHeap(nb::module_& m) {
    nb::class_<HeapSnapshot>(m, "HeapSnapshot")
        .def_prop_ro("object_count", [](const HeapSnapshot& s) { return s.graph().nodeCount(); })
        .def_prop_ro("edge_count", [](const HeapSnapshot& s) { return s.graph().edgeCount(); })
        .def_prop_ro("total_size", [](const HeapSnapshot& s) { return s.graph().totalSize(); })
        .def_prop_ro("live", &HeapSnapshot::live)
        .def_prop_ro("graph_bytes", [](const HeapSnapshot& s) { return s.graph().memoryBytes(); })
        .def_prop_ro("has_sequences", [](const HeapSnapshot& s) { return !s.sequences().empty(); })
        .def("node_type",
             [](const HeapSnapshot& s, std::uint32_t n) { return s.typeName(checkedNode(s, n)); })
        .def("node_size",
             [](const HeapSnapshot& s, std::uint32_t n) { return s.graph().shallowSize(checkedNode(s, n)); })
        .def("node_address",
             [](const HeapSnapshot& s, std::uint32_t n) { return s.graph().address(checkedNode(s, n)); })
        .def("node_sequence",
             [](const HeapSnapshot& s, std::uint32_t n) {
                 return s.sequences().empty() ? 0 : s.sequences()[checkedNode(s, n).value];
             })
        .def("node_stack",
             [](const HeapSnapshot& s, std::uint32_t n) {
                 return s.data().stacks.empty() ? 0u : s.data().stacks[checkedNode(s, n).value];
             })
        .def("successors",
             [](const HeapSnapshot& s, std::uint32_t n) {
                 auto span = s.graph().successors(checkedNode(s, n));
                 return std::vector<std::uint32_t>(span.begin(), span.end());
             })
        .def("roots", &rootsOf)
        .def("object_ids",
             [](const HeapSnapshot& s) {
                 if (!s.live()) throw nb::value_error("a loaded snapshot has no object ids");
                 std::vector<std::uintptr_t> ids(s.graph().nodeCount());
                 for (std::uint32_t v = 0; v < ids.size(); ++v) ids[v] = s.objectId(NodeId(v));
                 return ids;
             })
        .def("node_of",
             [](const HeapSnapshot& s, nb::handle obj) -> std::optional<std::uint32_t> {
                 auto node = s.nodeOfObject(obj.ptr());
                 return node ? std::optional(node->value) : std::nullopt;
             },
             nb::arg("obj").none())
        .def("node_of_allocation",
             [](HeapSnapshot& s, std::uint64_t address) -> std::optional<std::uint32_t> {
                 auto node = s.nodeOfAllocation(address);
                 return node ? std::optional(node->value) : std::nullopt;
             })
        .def("node_object", &nodeObject)
        .def("path", &pathOf)
        .def("cycle", &cycleOf)
        .def("set_allocations", &HeapSnapshot::setAllocations)
        .def("drop_caller_roots",
             [](HeapSnapshot& s, std::uint32_t n, const std::string& prefix) {
                 s.dropCallerRoots(checkedNode(s, n), prefix);
             })
        .def("path_via", &pathViaOf)
        .def("save", &HeapSnapshot::save);
    m.def("take_snapshot", &takeSnapshot, nb::arg("exclude"), nb::arg("thread_names"), nb::arg("skip_code"));
    m.def("load_snapshot", &loadSnapshot, nb::arg("path"));

    nb::class_<graph::TypeCensus>(m, "TypeCensus")
        .def(nb::init<>())
        .def("rows", &tallyTuples)
        .def_prop_ro("total_count", &graph::TypeCensus::totalCount)
        .def_prop_ro("total_bytes", &graph::TypeCensus::totalBytes)
        .def("__len__", [](const graph::TypeCensus& c) { return c.rows().size(); })
        .def("minus", &graph::TypeCensus::minus, nb::arg("older"))
        .def("growth_since", &growthTuples, nb::arg("older"), nb::arg("limit"));
    m.def("census_heap", &takeCensus, nb::arg("exclude"), nb::arg("skip_code"));
    m.def("type_name", [](nb::handle type) {
        if (!PyType_Check(type.ptr())) throw nb::type_error("not a type");
        return heap::typeNameOf(reinterpret_cast<PyTypeObject*>(type.ptr()));
    });
    m.def(
        "is_immortal", [](nb::handle obj) { return heap::compat::isImmortal(obj.ptr()); },
        nb::arg("obj").none());
}

}  // namespace memhound::bindings
