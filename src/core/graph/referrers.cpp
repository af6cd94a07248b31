#include "core/graph/referrers.h"

#include <algorithm>

namespace memhound::graph {

std::vector<std::pair<NodeId, NodeId>> edgesInto(const ObjectGraph& graph,
                                                 const std::vector<NodeId>& targets) {
    std::uint32_t n = graph.nodeCount();
    std::vector<bool> wanted(n, false);
    for (NodeId target : targets) {
        if (target.value < n) wanted[target.value] = true;
    }
    std::vector<std::pair<NodeId, NodeId>> edges;
    for (std::uint32_t v = 0; v < n; ++v) {
        for (std::uint32_t w : graph.successors(NodeId(v))) {
            if (wanted[w]) edges.emplace_back(NodeId(v), NodeId(w));
        }
    }
    std::sort(edges.begin(), edges.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second < b.second : a.first < b.first;
    });
    edges.erase(std::unique(edges.begin(), edges.end()), edges.end());
    return edges;
}

}  // namespace memhound::graph
