#include "core/graph/object_graph.h"

#include <algorithm>
#include <string>

#include "core/common/error.h"

namespace memhound::graph {

const char* rootKindName(RootKind kind) {
    switch (kind) {
        case RootKind::Module:
            return "module";
        case RootKind::Frame:
            return "frame";
        case RootKind::Builtins:
            return "builtins";
        case RootKind::External:
            return "external";
    }
    return "external";
}

std::uint64_t ObjectGraph::memoryBytes() const {
    auto bytes = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
    return bytes(m_offsets) + bytes(m_targets) + bytes(m_sizes) + bytes(m_types) + bytes(m_addresses) +
           bytes(m_roots) + m_bigSizes.size() * 32;
}

void GraphBuilder::tooManyNodes() { throw common::Error("object graph: too many objects for 32-bit ids"); }

void GraphBuilder::reserve(std::size_t nodes, std::size_t edges) {
    m_graph.m_types.reserve(nodes);
    m_graph.m_sizes.reserve(nodes);
    m_graph.m_addresses.reserve(nodes);
    m_offsets.reserve(nodes + 1);
    m_graph.m_targets.reserve(edges);
}

void GraphBuilder::setBigSize(NodeId node, std::uint64_t size) {
    ObjectGraph& g = m_graph;
    std::uint64_t old = g.shallowSize(node);
    g.m_totalSize += size - old;
    if (size >= ObjectGraph::kBigSize) {
        g.m_sizes[node.value] = ObjectGraph::kBigSize;
        g.m_bigSizes[node.value] = size;
    } else {
        g.m_sizes[node.value] = static_cast<std::uint32_t>(size);
        if (!g.m_bigSizes.empty()) g.m_bigSizes.erase(node.value);
    }
}

void GraphBuilder::beginEdges(NodeId node) {
    if (node.value < m_offsets.size()) throw common::Error("object graph: edges added out of node order");
    if (node.value >= nodeCount()) throw common::Error("object graph: edges of a missing node");
    if (m_graph.m_targets.size() >= 0xffffffffull) throw common::Error("object graph: too many references");
    // The nodes skipped since the last one started have no edges.
    m_offsets.resize(node.value + 1, static_cast<std::uint32_t>(m_graph.m_targets.size()));
}

ObjectGraph GraphBuilder::finish() {
    ObjectGraph& g = m_graph;
    auto end = static_cast<std::uint32_t>(g.m_targets.size());
    m_offsets.resize(nodeCount() + 1, end);
    g.m_offsets = std::move(m_offsets);
    // The walk reserves generously; give the slack back (the graph lives as long as the snapshot).
    // Column shrinks in place, without copying.
    g.m_offsets.shrink_to_fit();
    g.m_targets.shrink_to_fit();
    g.m_sizes.shrink_to_fit();
    g.m_types.shrink_to_fit();
    g.m_addresses.shrink_to_fit();
    g.m_roots.shrink_to_fit();
    for (std::uint32_t target : g.m_targets) {
        if (target >= nodeCount()) throw common::Error("object graph: edge to a missing node");
    }
    for (const Root& root : g.m_roots) {
        if (root.node.value >= nodeCount()) throw common::Error("object graph: root is not a node");
    }
    return std::move(m_graph);
}

ObjectGraph graphFromEdges(std::uint32_t nodeCount,
                           const std::vector<std::pair<std::uint32_t, std::uint32_t>>& edges,
                           const std::vector<std::uint64_t>& sizes, const std::vector<std::uint32_t>& types,
                           const std::vector<Root>& roots, const std::vector<std::uint64_t>& addresses) {
    if (sizes.size() != nodeCount || types.size() != nodeCount ||
        (!addresses.empty() && addresses.size() != nodeCount)) {
        throw common::Error("object graph: a column does not match the node count");
    }
    std::vector<std::pair<std::uint32_t, std::uint32_t>> sorted = edges;
    std::stable_sort(sorted.begin(), sorted.end(), [](auto a, auto b) { return a.first < b.first; });
    GraphBuilder builder;
    builder.reserve(nodeCount, sorted.size());
    for (std::uint32_t i = 0; i < nodeCount; ++i) {
        NodeId node = builder.addNode(addresses.empty() ? i : addresses[i]);
        builder.setSize(node, sizes[i]);
        builder.setType(node, TypeId(types[i]));
    }
    std::size_t next = 0;
    for (std::uint32_t i = 0; i < nodeCount; ++i) {
        builder.beginEdges(NodeId(i));
        for (; next < sorted.size() && sorted[next].first == i; ++next)
            builder.addEdge(NodeId(sorted[next].second));
    }
    if (next != sorted.size()) throw common::Error("object graph: edge from a missing node");
    for (const Root& root : roots) builder.addRoot(root);
    return builder.finish();
}

}  // namespace memhound::graph
