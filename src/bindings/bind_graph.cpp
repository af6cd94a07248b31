// memhound._core graph bindings: the analyses of a heap snapshot (dominators, retained sizes,
// census, diff). Long computations run without the GIL. Thin: conversions only.

// clang-format off
#include "core/heap/heap_compat.h"  // first: it sets Py_BUILD_CORE before Python.h
// clang-format on

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "bindings/bindings.h"
#include "core/graph/census.h"
#include "core/graph/diff.h"
#include "core/graph/referrers.h"
#include "core/heap/heap_snapshot.h"

namespace nb = nanobind;

namespace memhound::bindings {

namespace {

using graph::NodeId;
using heap::HeapSnapshot;

NodeId checkedNode(const HeapSnapshot& snap, std::uint32_t node) {
    if (node >= snap.graph().nodeCount()) throw nb::index_error("node id out of range");
    return NodeId(node);
}

void computeAnalyses(HeapSnapshot& snap) {
    nb::gil_scoped_release release;
    snap.dominators();
    snap.paths();
}

std::vector<std::tuple<std::string, std::uint64_t, std::uint64_t, std::uint64_t>> censusOf(
    HeapSnapshot& snap) {
    std::vector<graph::CensusRow> rows;
    {
        nb::gil_scoped_release release;
        rows = graph::census(snap.graph(), snap.dominators());
    }
    std::vector<std::tuple<std::string, std::uint64_t, std::uint64_t, std::uint64_t>> out;
    for (const graph::CensusRow& r : rows) {
        out.emplace_back(snap.data().typeNames[r.type.value], r.count, r.shallowBytes, r.retainedBytes);
    }
    return out;
}

std::vector<std::uint32_t> largestOf(HeapSnapshot& snap, std::size_t limit) {
    nb::gil_scoped_release release;
    std::vector<std::uint32_t> out;
    for (NodeId node : graph::largestRetainers(snap.graph(), snap.dominators(), limit))
        out.push_back(node.value);
    return out;
}

std::vector<std::uint32_t> unreachableOf(HeapSnapshot& snap) {
    nb::gil_scoped_release release;
    const graph::DominatorTree& tree = snap.dominators();
    std::vector<std::uint32_t> out;
    for (std::uint32_t v = 0; v < snap.graph().nodeCount(); ++v) {
        if (!tree.reachable(NodeId(v))) out.push_back(v);
    }
    return out;
}

// Identity per node: the allocation sequence number when both sides have one, else the address.
std::vector<std::uint64_t> identityKeys(const HeapSnapshot& snap, bool bySequence) {
    if (bySequence) return snap.sequences();
    const auto& addresses = snap.graph().addressColumn();
    return {addresses.begin(), addresses.end()};
}

using DiffRowTuple = std::tuple<std::string, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t>;

std::pair<std::vector<DiffRowTuple>, std::vector<std::uint32_t>> diffOf(HeapSnapshot& older,
                                                                        HeapSnapshot& newer,
                                                                        bool bySequence) {
    if (bySequence && (older.sequences().empty() || newer.sequences().empty())) {
        throw nb::value_error("both snapshots need allocation sequence numbers");
    }
    std::vector<std::uint64_t> olderKeys = identityKeys(older, bySequence),
                               newerKeys = identityKeys(newer, bySequence);
    graph::SnapshotDiff d;
    {
        nb::gil_scoped_release release;
        d = graph::diffSnapshots({older.graph(), olderKeys, older.data().typeNames},
                                 {newer.graph(), newerKeys, newer.data().typeNames});
    }
    std::pair<std::vector<DiffRowTuple>, std::vector<std::uint32_t>> out;
    for (const graph::DiffRow& r : d.rows) {
        out.first.emplace_back(r.typeName, r.newCount, r.newBytes, r.goneCount, r.goneBytes);
    }
    for (NodeId node : d.newNodes) out.second.push_back(node.value);
    return out;
}

}  // namespace

void bindGraph(nb::module_& m) {
    m.def("compute_analyses", &computeAnalyses, nb::arg("snapshot"));
    m.def("retained_size",
          [](HeapSnapshot& s, std::uint32_t n) { return s.dominators().retainedSize(checkedNode(s, n)); });
    m.def("is_reachable",
          [](HeapSnapshot& s, std::uint32_t n) { return s.dominators().reachable(checkedNode(s, n)); });
    m.def("immediate_dominator", [](HeapSnapshot& s, std::uint32_t n) -> std::optional<std::uint32_t> {
        std::uint32_t d = s.dominators().idom(checkedNode(s, n));
        return d == graph::DominatorTree::kSuperRoot ? std::nullopt : std::optional(d);
    });
    m.def("analysis_bytes",
          [](HeapSnapshot& s) { return s.dominators().memoryBytes() + s.paths().memoryBytes(); });
    m.def("census", &censusOf, nb::arg("snapshot"));
    m.def("largest", &largestOf, nb::arg("snapshot"), nb::arg("limit"));
    m.def("unreachable_nodes", &unreachableOf, nb::arg("snapshot"));
    m.def(
        "edges_into",
        [](HeapSnapshot& s, const std::vector<std::uint32_t>& targets) {
            std::vector<NodeId> nodes;
            for (std::uint32_t t : targets) nodes.push_back(checkedNode(s, t));
            std::vector<std::pair<std::uint32_t, std::uint32_t>> out;
            nb::gil_scoped_release release;
            for (auto [from, to] : graph::edgesInto(s.graph(), nodes)) out.emplace_back(from.value, to.value);
            return out;
        },
        nb::arg("snapshot"), nb::arg("targets"));
    m.def("diff_snapshots", &diffOf, nb::arg("older"), nb::arg("newer"), nb::arg("by_sequence"));
}

}  // namespace memhound::bindings
