#include "core/graph/census.h"

#include <algorithm>

namespace memhound::graph {

namespace {

// Children lists of the dominator tree in CSR form; the super-root's children are listed last.
struct DominatorChildren {
    std::vector<std::uint32_t> offsets;
    std::vector<std::uint32_t> children;
};

DominatorChildren childrenOf(const DominatorTree& dominators, std::uint32_t n) {
    auto slot = [&](std::uint32_t v) {
        std::uint32_t d = dominators.idom(NodeId(v));
        return d == DominatorTree::kSuperRoot ? n : d;
    };
    DominatorChildren tree;
    tree.offsets.assign(n + 2, 0);
    for (std::uint32_t v = 0; v < n; ++v) ++tree.offsets[slot(v) + 1];
    for (std::uint32_t i = 0; i <= n; ++i) tree.offsets[i + 1] += tree.offsets[i];
    tree.children.resize(n);
    std::vector<std::uint32_t> fill(tree.offsets.begin(), tree.offsets.end() - 1);
    for (std::uint32_t v = 0; v < n; ++v) tree.children[fill[slot(v)]++] = v;
    return tree;
}

// Adds retained bytes per type, counting only the outermost object of each type on every
// dominator-tree path: a depth-first walk keeps how many objects of each type are open above.
void addRetainedByType(const ObjectGraph& graph, const DominatorTree& dominators,
                       std::vector<CensusRow>& rows) {
    std::uint32_t n = graph.nodeCount();
    DominatorChildren tree = childrenOf(dominators, n);
    std::vector<std::uint32_t> open(rows.size(), 0);
    // Stack entries: (node, next child position); the super-root is node n.
    std::vector<std::pair<std::uint32_t, std::uint32_t>> stack{{n, tree.offsets[n]}};
    while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next == tree.offsets[node + 1]) {
            if (node != n) --open[graph.type(NodeId(node)).value];
            stack.pop_back();
            continue;
        }
        std::uint32_t child = tree.children[next++];
        std::uint32_t type = graph.type(NodeId(child)).value;
        if (open[type]++ == 0) rows[type].retainedBytes += dominators.retainedSize(NodeId(child));
        stack.push_back({child, tree.offsets[child]});
    }
}

}  // namespace

std::vector<CensusRow> census(const ObjectGraph& graph, const DominatorTree& dominators) {
    std::uint32_t typeCount = 0;
    for (std::uint32_t t : graph.typeColumn()) typeCount = std::max(typeCount, t + 1);
    std::vector<CensusRow> rows(typeCount);
    for (std::uint32_t t = 0; t < typeCount; ++t) rows[t].type = TypeId(t);
    for (std::uint32_t v = 0; v < graph.nodeCount(); ++v) {
        CensusRow& row = rows[graph.type(NodeId(v)).value];
        ++row.count;
        row.shallowBytes += graph.shallowSize(NodeId(v));
    }
    addRetainedByType(graph, dominators, rows);
    std::erase_if(rows, [](const CensusRow& row) { return row.count == 0; });
    std::stable_sort(rows.begin(), rows.end(),
                     [](const CensusRow& a, const CensusRow& b) { return a.shallowBytes > b.shallowBytes; });
    return rows;
}

std::vector<NodeId> largestRetainers(const ObjectGraph& graph, const DominatorTree& dominators,
                                     std::size_t limit) {
    std::vector<std::uint32_t> nodes;
    for (std::uint32_t v = 0; v < graph.nodeCount(); ++v) {
        if (dominators.reachable(NodeId(v))) nodes.push_back(v);
    }
    auto larger = [&](std::uint32_t a, std::uint32_t b) {
        std::uint64_t ra = dominators.retainedSize(NodeId(a)), rb = dominators.retainedSize(NodeId(b));
        return ra != rb ? ra > rb : a < b;
    };
    std::size_t count = std::min(limit, nodes.size());
    std::partial_sort(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(count), nodes.end(), larger);
    std::vector<NodeId> result;
    for (std::size_t i = 0; i < count; ++i) result.push_back(NodeId(nodes[i]));
    return result;
}

}  // namespace memhound::graph
