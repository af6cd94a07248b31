#include "core/graph/dominators.h"

#include <utility>

namespace memhound::graph {

namespace {

constexpr std::uint32_t kNone = 0xffffffffu;

// Predecessor lists in CSR form (the reverse graph), freed once the dominators are known.
struct ReverseGraph {
    std::vector<std::uint32_t> offsets;
    std::vector<std::uint32_t> sources;
};

ReverseGraph reverseOf(const ObjectGraph& graph) {
    std::uint32_t n = graph.nodeCount();
    ReverseGraph r;
    r.offsets.assign(n + 1, 0);
    for (std::uint32_t t : graph.targets()) ++r.offsets[t + 1];
    for (std::uint32_t i = 0; i < n; ++i) r.offsets[i + 1] += r.offsets[i];
    r.sources.resize(graph.targets().size());
    std::vector<std::uint32_t> fill(r.offsets.begin(), r.offsets.end() - 1);
    for (std::uint32_t v = 0; v < n; ++v) {
        for (std::uint32_t t : graph.successors(NodeId(v))) r.sources[fill[t]++] = v;
    }
    return r;
}

// Depth-first numbering from the super-root (preorder index 0). Vertices are handled as preorder
// indices from here on: vertex[i] is the node, parent[i] the DFS-tree parent's index.
struct DfsOrder {
    std::vector<std::uint32_t> preorder;  // node -> index, kNone if not visited
    std::vector<std::uint32_t> vertex;    // index -> node (vertex[0] = super-root, unused)
    std::vector<std::uint32_t> parent;    // index -> parent index
    std::vector<bool> entry;              // node -> has an edge from the super-root
    std::uint32_t reachableCount = 0;     // indices 1..reachableCount come from the real roots
};

class DfsWalker {
public:
    explicit DfsWalker(const ObjectGraph& graph) : m_graph(graph) {
        std::uint32_t n = graph.nodeCount();
        m_order.preorder.assign(n, kNone);
        m_order.entry.assign(n, false);
        m_order.vertex.reserve(n + 1);
        m_order.parent.reserve(n + 1);
        m_order.vertex.push_back(kNone);
        m_order.parent.push_back(0);
    }

    DfsOrder run() {
        for (const Root& root : m_graph.roots()) m_order.entry[root.node.value] = true;
        for (const Root& root : m_graph.roots()) visitFrom(root.node.value);
        m_order.reachableCount = static_cast<std::uint32_t>(m_order.vertex.size() - 1);
        for (std::uint32_t v = 0; v < m_graph.nodeCount(); ++v) visitFrom(v);
        return std::move(m_order);
    }

private:
    std::uint32_t number(std::uint32_t node, std::uint32_t parentIndex) {
        auto index = static_cast<std::uint32_t>(m_order.vertex.size());
        m_order.preorder[node] = index;
        m_order.vertex.push_back(node);
        m_order.parent.push_back(parentIndex);
        return index;
    }

    // Iterative DFS: the stack holds (preorder index, position in its successor list).
    void visitFrom(std::uint32_t start) {
        if (m_order.preorder[start] != kNone) return;
        m_order.entry[start] = true;
        m_stack.push_back({number(start, 0), 0});
        while (!m_stack.empty()) {
            auto& [index, next] = m_stack.back();
            auto successors = m_graph.successors(NodeId(m_order.vertex[index]));
            if (next == successors.size()) {
                m_stack.pop_back();
                continue;
            }
            std::uint32_t child = successors[next++];
            if (m_order.preorder[child] == kNone) {
                std::uint32_t parentIndex = index;  // `index` dangles once the stack grows
                m_stack.push_back({number(child, parentIndex), 0});
            }
        }
    }

    const ObjectGraph& m_graph;
    DfsOrder m_order;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> m_stack;
};

// Semidominators by path-compressed evaluation over the linked DFS forest, then the
// nearest-common-ancestor pass of semi-NCA. Works on preorder indices; returns idom per index.
class SemiNca {
public:
    SemiNca(const DfsOrder& order, const ReverseGraph& reverse) : m_order(order), m_reverse(reverse) {
        auto count = static_cast<std::uint32_t>(order.vertex.size());
        m_semi.resize(count);
        m_label.resize(count);
        m_ancestor.assign(count, kNone);
        for (std::uint32_t i = 0; i < count; ++i) m_semi[i] = m_label[i] = i;
    }

    std::vector<std::uint32_t> run() {
        auto count = static_cast<std::uint32_t>(m_order.vertex.size());
        for (std::uint32_t i = count; i-- > 1;) {
            computeSemi(i);
            m_ancestor[i] = m_order.parent[i];
        }
        std::vector<std::uint32_t> idom(count, 0);
        for (std::uint32_t i = 1; i < count; ++i) {
            std::uint32_t d = m_order.parent[i];
            while (d > m_semi[i]) d = idom[d];
            idom[i] = d;
        }
        return idom;
    }

private:
    void computeSemi(std::uint32_t i) {
        std::uint32_t node = m_order.vertex[i];
        // Roots and garbage entry points have the super-root as a predecessor: semi 0.
        if (m_order.entry[node]) m_semi[i] = 0;
        for (std::uint32_t p = m_reverse.offsets[node]; p < m_reverse.offsets[node + 1]; ++p) {
            std::uint32_t from = m_order.preorder[m_reverse.sources[p]];
            if (from == kNone) continue;
            std::uint32_t candidate = m_semi[eval(from)];
            if (candidate < m_semi[i]) m_semi[i] = candidate;
        }
    }

    // The vertex of smallest semidominator on the linked path above v (v itself if unlinked).
    std::uint32_t eval(std::uint32_t v) {
        if (m_ancestor[v] == kNone) return v;
        compress(v);
        return m_label[v];
    }

    void compress(std::uint32_t v) {
        m_path.clear();
        for (std::uint32_t u = v; m_ancestor[m_ancestor[u]] != kNone; u = m_ancestor[u]) m_path.push_back(u);
        // Top-down, so each vertex sees its ancestor already compressed.
        for (std::size_t k = m_path.size(); k-- > 0;) {
            std::uint32_t u = m_path[k];
            std::uint32_t a = m_ancestor[u];
            if (m_semi[m_label[a]] < m_semi[m_label[u]]) m_label[u] = m_label[a];
            m_ancestor[u] = m_ancestor[a];
        }
    }

    const DfsOrder& m_order;
    const ReverseGraph& m_reverse;
    std::vector<std::uint32_t> m_semi, m_label, m_ancestor, m_path;
};

}  // namespace

DominatorTree::DominatorTree(const ObjectGraph& graph) {
    std::uint32_t n = graph.nodeCount();
    DfsOrder order = DfsWalker(graph).run();
    std::vector<std::uint32_t> idomIndex;
    {
        ReverseGraph reverse = reverseOf(graph);
        idomIndex = SemiNca(order, reverse).run();
    }
    m_idom.assign(n, kSuperRoot);
    m_retained.resize(n);
    m_reachable.assign(n, 0);
    for (std::uint32_t v = 0; v < n; ++v) m_retained[v] = graph.shallowSize(NodeId(v));
    // Children have larger preorder indices than their dominators: sum bottom-up in reverse.
    for (std::uint32_t i = static_cast<std::uint32_t>(order.vertex.size()); i-- > 1;) {
        std::uint32_t node = order.vertex[i];
        std::uint32_t d = idomIndex[i];
        if (i <= order.reachableCount) m_reachable[node] = 1;
        if (d == 0) continue;
        m_idom[node] = order.vertex[d];
        m_retained[order.vertex[d]] += m_retained[node];
    }
    for (std::uint32_t v = 0; v < n; ++v) {
        if (m_reachable[v]) m_reachableSize += graph.shallowSize(NodeId(v));
    }
}

std::uint64_t DominatorTree::memoryBytes() const {
    return m_idom.capacity() * 4 + m_retained.capacity() * 8 + m_reachable.capacity();
}

}  // namespace memhound::graph
