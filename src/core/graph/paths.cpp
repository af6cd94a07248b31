#include "core/graph/paths.h"

#include <algorithm>

namespace memhound::graph {

ShortestPaths::ShortestPaths(const ObjectGraph& graph) : m_parent(graph.nodeCount(), kUnreached) {
    std::vector<std::uint32_t> queue;
    queue.reserve(graph.nodeCount());
    const std::vector<Root>& roots = graph.roots();
    for (int tier = 0; tier < kRootTierCount; ++tier) {
        std::size_t head = queue.size();
        for (std::uint32_t r = 0; r < roots.size(); ++r) {
            std::uint32_t node = roots[r].node.value;
            if (rootTier(roots[r].kind) != tier || m_parent[node] != kUnreached) continue;
            m_parent[node] = kRootFlag | r;
            queue.push_back(node);
        }
        searchFrom(graph, queue, head);
    }
}

void ShortestPaths::searchFrom(const ObjectGraph& graph, std::vector<std::uint32_t>& queue,
                               std::size_t head) {
    for (; head < queue.size(); ++head) {
        std::uint32_t node = queue[head];
        for (std::uint32_t child : graph.successors(NodeId(node))) {
            if (m_parent[child] != kUnreached) continue;
            m_parent[child] = node;
            queue.push_back(child);
        }
    }
}

std::optional<NodeId> ShortestPaths::parent(NodeId node) const {
    std::uint32_t p = m_parent[node.value];
    if (p == kUnreached || (p & kRootFlag)) return std::nullopt;
    return NodeId(p);
}

std::optional<Path> ShortestPaths::pathTo(NodeId target) const {
    if (!reached(target)) return std::nullopt;
    Path path;
    std::uint32_t node = target.value;
    while (!(m_parent[node] & kRootFlag)) {
        path.nodes.push_back(NodeId(node));
        node = m_parent[node];
    }
    path.nodes.push_back(NodeId(node));
    path.root = m_parent[node] & ~kRootFlag;
    std::reverse(path.nodes.begin(), path.nodes.end());
    return path;
}

}  // namespace memhound::graph
