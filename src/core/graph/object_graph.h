#pragma once
// A heap snapshot's object graph: dense 32-bit node ids, edges in CSR form (one offset per node
// into one target array), and per-node attributes (shallow size, type, allocation address).
// Pure C++: the heap walker fills it; the graph algorithms and the snapshot file read it.
#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/common/ids.h"
#include "core/graph/column.h"

namespace memhound::graph {

using common::NodeId;
using common::TypeId;

// Why a root is a root.
enum class RootKind : std::uint8_t { Module = 0, Builtins = 1, Frame = 2, External = 3 };
inline constexpr int kRootKindCount = 4;

// Shortest paths prefer roots of a lower tier: module globals (the builtins module being one of
// the modules) before a thread's frames, frames before references held outside the heap.
inline int rootTier(RootKind kind) {
    return kind == RootKind::Builtins ? 0 : kind == RootKind::Frame ? 1 : kind == RootKind::External ? 2 : 0;
}
inline constexpr int kRootTierCount = 3;

const char* rootKindName(RootKind kind);

// A root of the graph; `label` indexes the snapshot's root label table (module name,
// "Thread 'worker' > run() local 'x'", ...), kept by whoever built the graph.
struct Root {
    NodeId node;
    RootKind kind = RootKind::External;
    std::uint32_t label = 0;
};

// The largest graph we index with 32-bit ids: the top bit is reserved for "points at a root".
inline constexpr std::uint32_t kMaxNodes = 0x7fffffffu;

class ObjectGraph {
public:
    ObjectGraph() = default;

    std::uint32_t nodeCount() const { return static_cast<std::uint32_t>(m_types.size()); }
    std::uint64_t edgeCount() const { return m_targets.size(); }
    std::span<const std::uint32_t> successors(NodeId node) const {
        return {m_targets.data() + m_offsets[node.value], m_targets.data() + m_offsets[node.value + 1]};
    }
    std::uint64_t shallowSize(NodeId node) const {
        std::uint32_t size = m_sizes[node.value];
        return size != kBigSize ? size : m_bigSizes.at(node.value);
    }
    TypeId type(NodeId node) const { return TypeId(m_types[node.value]); }
    std::uint64_t address(NodeId node) const { return m_addresses[node.value]; }
    const std::vector<Root>& roots() const { return m_roots; }
    std::uint64_t totalSize() const { return m_totalSize; }

    // Removes the roots `drop` selects (before any analysis is computed over the graph).
    template <typename Predicate>
    void eraseRoots(Predicate drop) {
        std::erase_if(m_roots, drop);
    }

    // Raw columns, for the snapshot file and the bindings.
    const Column<std::uint32_t>& offsets() const { return m_offsets; }
    const Column<std::uint32_t>& targets() const { return m_targets; }
    const Column<std::uint32_t>& typeColumn() const { return m_types; }
    const Column<std::uint64_t>& addressColumn() const { return m_addresses; }
    // Bytes held by this graph's own arrays (the per-object memory bar).
    std::uint64_t memoryBytes() const;

    friend class GraphBuilder;

private:
    // Sizes of 4 GiB and more do not fit the 32-bit column; they live in a side table.
    static constexpr std::uint32_t kBigSize = 0xffffffffu;

    Column<std::uint32_t> m_offsets{0};  // nodeCount + 1 entries
    Column<std::uint32_t> m_targets;
    Column<std::uint32_t> m_sizes;  // shallow size, or kBigSize: look it up in m_bigSizes
    std::unordered_map<std::uint32_t, std::uint64_t> m_bigSizes;
    Column<std::uint32_t> m_types;
    Column<std::uint64_t> m_addresses;
    std::vector<Root> m_roots;
    std::uint64_t m_totalSize = 0;
};

// Builds an ObjectGraph in one pass: nodes are added first (ids 0, 1, ...), then the edges of
// each node in increasing node order, which is how a breadth-first walk discovers them.
// addNode and setSize, called for every object, are inline; their rare cases are not.
class GraphBuilder {
public:
    NodeId addNode(std::uint64_t address) {
        if (nodeCount() >= kMaxNodes) tooManyNodes();
        NodeId id(nodeCount());
        m_graph.m_types.push_back(0);
        m_graph.m_sizes.push_back(0);
        m_graph.m_addresses.push_back(address);
        return id;
    }
    std::uint32_t nodeCount() const { return static_cast<std::uint32_t>(m_graph.m_types.size()); }
    void reserve(std::size_t nodes, std::size_t edges);
    void setSize(NodeId node, std::uint64_t size) {
        std::uint32_t& slot = m_graph.m_sizes[node.value];
        if (slot == ObjectGraph::kBigSize || size >= ObjectGraph::kBigSize) return setBigSize(node, size);
        m_graph.m_totalSize += size - slot;
        slot = static_cast<std::uint32_t>(size);
    }
    void setType(NodeId node, TypeId type) { m_graph.m_types[node.value] = type.value; }
    // Starts the edge list of `node`; nodes are started in increasing order, and a node never
    // started has no edges.
    void beginEdges(NodeId node);
    void addEdge(NodeId target) { m_graph.m_targets.push_back(target.value); }
    void addRoot(const Root& root) { m_graph.m_roots.push_back(root); }
    std::uint64_t sizeOf(NodeId node) const { return m_graph.shallowSize(node); }
    // Closes the edge lists of the nodes not started yet (leaves: no edges) and checks the graph.
    ObjectGraph finish();

private:
    [[noreturn]] static void tooManyNodes();
    // A size that is, or replaces, one of 4 GiB or more.
    void setBigSize(NodeId node, std::uint64_t size);

    ObjectGraph m_graph;
    Column<std::uint32_t> m_offsets;
};

// Builds a graph from an edge list (tests and the snapshot file). Throws common::Error when an
// edge, root or type column does not fit the node count.
ObjectGraph graphFromEdges(std::uint32_t nodeCount,
                           const std::vector<std::pair<std::uint32_t, std::uint32_t>>& edges,
                           const std::vector<std::uint64_t>& sizes, const std::vector<std::uint32_t>& types,
                           const std::vector<Root>& roots, const std::vector<std::uint64_t>& addresses = {});

}  // namespace memhound::graph
