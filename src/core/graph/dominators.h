#pragma once
// Dominator tree and retained sizes of an object graph (semi-NCA, iterative depth-first search).
//
// A virtual super-root points at every root, in root order. Objects no root reaches (garbage
// that is still allocated, e.g. cycles) are attached below the super-root too, one entry point at a
// time: the smallest unreached node id becomes an extra entry, then the next smallest that is still
// unreached, and so on. So every node has a dominator and a retained size, and `reachable(n)`
// tells live objects from garbage.
#include <cstdint>
#include <vector>

#include "core/graph/object_graph.h"

namespace memhound::graph {

class DominatorTree {
public:
    // Sentinel "dominated by the super-root only".
    static constexpr std::uint32_t kSuperRoot = 0xffffffffu;

    explicit DominatorTree(const ObjectGraph& graph);

    // Immediate dominator of node, or kSuperRoot.
    std::uint32_t idom(NodeId node) const { return m_idom[node.value]; }
    // Bytes freed if `node` went away: its shallow size plus that of every node it dominates.
    std::uint64_t retainedSize(NodeId node) const { return m_retained[node.value]; }
    // True when a real root reaches the node (false: garbage still in memory).
    bool reachable(NodeId node) const { return m_reachable[node.value] != 0; }
    std::uint64_t reachableSize() const { return m_reachableSize; }
    const std::vector<std::uint32_t>& idoms() const { return m_idom; }
    const std::vector<std::uint64_t>& retainedSizes() const { return m_retained; }
    std::uint64_t memoryBytes() const;

private:
    std::vector<std::uint32_t> m_idom;
    std::vector<std::uint64_t> m_retained;
    std::vector<std::uint8_t> m_reachable;
    std::uint64_t m_reachableSize = 0;
};

}  // namespace memhound::graph
