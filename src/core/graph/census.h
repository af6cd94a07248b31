#pragma once
// Census by type: how many objects of each type, their shallow bytes, and the bytes they retain.
// A type's retained bytes count each object once: an object dominated by another object of the
// same type is already inside that one's retained size.
#include <cstdint>
#include <vector>

#include "core/graph/dominators.h"
#include "core/graph/object_graph.h"

namespace memhound::graph {

struct CensusRow {
    TypeId type;
    std::uint64_t count = 0;
    std::uint64_t shallowBytes = 0;
    std::uint64_t retainedBytes = 0;
};

// One row per type present, sorted by shallow bytes (largest first), then by type id.
std::vector<CensusRow> census(const ObjectGraph& graph, const DominatorTree& dominators);

// Reachable nodes with the largest retained sizes, largest first (ties: smaller id first).
// Nested retainers are all listed (a module and the dict it dominates both appear).
std::vector<NodeId> largestRetainers(const ObjectGraph& graph, const DominatorTree& dominators,
                                     std::size_t limit);

}  // namespace memhound::graph
