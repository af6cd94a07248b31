#pragma once
// Shortest strong paths from the roots: a breadth-first search in tiers (rootTier), so an object
// reachable from a module global gets its shortest path from a module global even when a frame
// local is closer; frames come next, then objects held from outside the heap.
#include <cstdint>
#include <optional>
#include <vector>

#include "core/graph/object_graph.h"

namespace memhound::graph {

// A path: the root it starts from (index into graph.roots()) and the nodes from the root's node
// down to the target, both included.
struct Path {
    std::uint32_t root = 0;
    std::vector<NodeId> nodes;
};

class ShortestPaths {
public:
    explicit ShortestPaths(const ObjectGraph& graph);

    std::optional<Path> pathTo(NodeId target) const;
    bool reached(NodeId node) const { return m_parent[node.value] != kUnreached; }
    // The node before `node` on its path, or nothing when `node` is a root's node (or unreached).
    std::optional<NodeId> parent(NodeId node) const;
    std::uint64_t memoryBytes() const { return m_parent.capacity() * 4; }

private:
    static constexpr std::uint32_t kUnreached = 0xffffffffu;
    static constexpr std::uint32_t kRootFlag = 0x80000000u;  // parent holds kRootFlag | root index

    void searchFrom(const ObjectGraph& graph, std::vector<std::uint32_t>& queue, std::size_t head);

    std::vector<std::uint32_t> m_parent;
};

}  // namespace memhound::graph
