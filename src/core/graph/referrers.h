#pragma once
// The references into a set of nodes (memhound.referrers and memhound.graph): the CSR keeps each
// node's successors only, so the predecessors of a few nodes are found by one scan of the edges.
#include <utility>
#include <vector>

#include "core/graph/object_graph.h"

namespace memhound::graph {

// Every (from, to) edge whose `to` is one of `targets`, sorted by (to, from); an object
// referencing a target several times (a list holding it twice) gives one pair.
std::vector<std::pair<NodeId, NodeId>> edgesInto(const ObjectGraph& graph,
                                                 const std::vector<NodeId>& targets);

}  // namespace memhound::graph
