#pragma once
// Difference of two snapshots: which objects are new in the newer one and which are gone, grouped
// by type name. Identity is a per-node key chosen by the caller (the allocation sequence number
// when the tracer ran, else the allocation address) together with the type name, since CPython
// reuses addresses.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/graph/object_graph.h"

namespace memhound::graph {

// One side of a diff: the graph, one identity key per node, and the graph's type names.
struct DiffSide {
    const ObjectGraph& graph;
    std::span<const std::uint64_t> keys;
    std::span<const std::string> typeNames;
};

struct DiffRow {
    std::string typeName;
    std::uint64_t newCount = 0, newBytes = 0;
    std::uint64_t goneCount = 0, goneBytes = 0;
};

struct SnapshotDiff {
    std::vector<DiffRow> rows;     // types with new or gone objects, by new bytes then gone bytes
    std::vector<NodeId> newNodes;  // nodes of the newer graph absent from the older, in id order
};

// Throws common::Error when a key or type-name column does not match its graph.
SnapshotDiff diffSnapshots(const DiffSide& older, const DiffSide& newer);

}  // namespace memhound::graph
