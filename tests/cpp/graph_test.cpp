// Graph algorithms against brute-force oracles on random graphs, plus census, diff and the
// snapshot file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>

#include "core/common/error.h"
#include "core/graph/census.h"
#include "core/graph/diff.h"
#include "core/graph/dominators.h"
#include "core/graph/object_graph.h"
#include "core/graph/paths.h"
#include "core/graph/snapshot_file.h"

namespace memhound::graph {
namespace {

using Edges = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

template <typename T>
std::vector<T> valuesOf(const Column<T>& column) {
    return {column.begin(), column.end()};
}

struct RandomGraph {
    std::uint32_t n = 0;
    Edges edges;
    std::vector<std::uint64_t> sizes;
    std::vector<std::uint32_t> types;
    std::vector<Root> roots;
    ObjectGraph build() const { return graphFromEdges(n, edges, sizes, types, roots); }
};

RandomGraph randomGraph(std::mt19937& rng) {
    RandomGraph g;
    g.n = 1 + rng() % 40;
    std::uint32_t edgeCount = rng() % (3 * g.n + 1);
    for (std::uint32_t e = 0; e < edgeCount; ++e) g.edges.push_back({rng() % g.n, rng() % g.n});
    for (std::uint32_t v = 0; v < g.n; ++v) {
        g.sizes.push_back(1 + rng() % 100);
        g.types.push_back(rng() % 4);
    }
    std::uint32_t rootCount = rng() % 4;  // zero roots: everything is garbage
    for (std::uint32_t r = 0; r < rootCount; ++r) {
        g.roots.push_back({NodeId(rng() % g.n), static_cast<RootKind>(rng() % kRootKindCount), r});
    }
    return g;
}

// Nodes reachable from `starts` without passing through `removed` (kNone: remove nothing).
std::vector<bool> reach(const RandomGraph& g, const std::vector<std::uint32_t>& starts,
                        std::uint32_t removed) {
    std::vector<bool> seen(g.n, false);
    std::vector<std::uint32_t> stack;
    for (std::uint32_t s : starts) {
        if (s != removed && !seen[s]) seen[s] = true, stack.push_back(s);
    }
    while (!stack.empty()) {
        std::uint32_t v = stack.back();
        stack.pop_back();
        for (auto [from, to] : g.edges) {
            if (from == v && to != removed && !seen[to]) seen[to] = true, stack.push_back(to);
        }
    }
    return seen;
}

// The super-root's entries as documented in dominators.h: the roots, then garbage entry points.
std::vector<std::uint32_t> entries(const RandomGraph& g) {
    std::vector<std::uint32_t> starts;
    for (const Root& r : g.roots) starts.push_back(r.node.value);
    for (std::uint32_t v = 0; v < g.n; ++v) {
        if (!reach(g, starts, UINT32_MAX)[v]) starts.push_back(v);
    }
    return starts;
}

// dominators[w] = set of nodes d (w included) such that removing d cuts w off the super-root.
std::vector<std::set<std::uint32_t>> bruteDominators(const RandomGraph& g) {
    std::vector<std::uint32_t> starts = entries(g);
    std::vector<std::set<std::uint32_t>> dom(g.n);
    for (std::uint32_t d = 0; d < g.n; ++d) {
        std::vector<bool> alive = reach(g, starts, d);
        for (std::uint32_t w = 0; w < g.n; ++w) {
            if (w == d || !alive[w]) dom[w].insert(d);
        }
    }
    return dom;
}

std::uint32_t bruteIdom(const std::vector<std::set<std::uint32_t>>& dom, std::uint32_t w) {
    // The strict dominator that every other strict dominator dominates: the one with most dominators.
    std::uint32_t best = DominatorTree::kSuperRoot;
    std::size_t bestCount = 0;
    for (std::uint32_t d : dom[w]) {
        if (d != w && dom[d].size() > bestCount) best = d, bestCount = dom[d].size();
    }
    return best;
}

TEST(DominatorTree, MatchesBruteForceOnRandomGraphs) {
    std::mt19937 rng(12345);
    for (int round = 0; round < 3000; ++round) {
        RandomGraph g = randomGraph(rng);
        ObjectGraph graph = g.build();
        DominatorTree tree(graph);
        auto dom = bruteDominators(g);
        std::vector<std::uint32_t> rootNodes;
        for (const Root& r : g.roots) rootNodes.push_back(r.node.value);
        std::vector<bool> live = reach(g, rootNodes, UINT32_MAX);
        for (std::uint32_t w = 0; w < g.n; ++w) {
            ASSERT_EQ(tree.idom(NodeId(w)), bruteIdom(dom, w)) << "round " << round << " node " << w;
            std::uint64_t retained = 0;
            for (std::uint32_t v = 0; v < g.n; ++v) {
                if (dom[v].count(w)) retained += g.sizes[v];
            }
            ASSERT_EQ(tree.retainedSize(NodeId(w)), retained) << "round " << round << " node " << w;
            ASSERT_EQ(tree.reachable(NodeId(w)), live[w]) << "round " << round << " node " << w;
        }
    }
}

TEST(DominatorTree, LongChainDoesNotRecurse) {
    constexpr std::uint32_t n = 2'000'000;
    Edges edges;
    for (std::uint32_t v = 0; v + 1 < n; ++v) edges.push_back({v, v + 1});
    edges.push_back({n - 1, 0});
    ObjectGraph graph = graphFromEdges(n, edges, std::vector<std::uint64_t>(n, 8),
                                       std::vector<std::uint32_t>(n, 0), {{NodeId(0), RootKind::Module, 0}});
    DominatorTree tree(graph);
    EXPECT_EQ(tree.retainedSize(NodeId(0)), 8ull * n);
    EXPECT_EQ(tree.idom(NodeId(n - 1)), n - 2);
}

// Shortest distance from the roots of one tier, or -1.
int distanceFrom(const RandomGraph& g, int tier, std::uint32_t target) {
    std::vector<int> dist(g.n, -1);
    std::vector<std::uint32_t> queue;
    for (const Root& r : g.roots) {
        if (rootTier(r.kind) == tier && dist[r.node.value] < 0)
            dist[r.node.value] = 0, queue.push_back(r.node.value);
    }
    for (std::size_t head = 0; head < queue.size(); ++head) {
        for (auto [from, to] : g.edges) {
            if (from == queue[head] && dist[to] < 0) dist[to] = dist[from] + 1, queue.push_back(to);
        }
    }
    return dist[target];
}

TEST(ShortestPaths, PreferModulesAndBuiltinsThenFramesThenExternal) {
    std::mt19937 rng(777);
    for (int round = 0; round < 3000; ++round) {
        RandomGraph g = randomGraph(rng);
        ObjectGraph graph = g.build();
        ShortestPaths paths(graph);
        for (std::uint32_t w = 0; w < g.n; ++w) {
            int expectedTier = -1, expectedLength = -1;
            for (int tier = 0; tier < kRootTierCount && expectedTier < 0; ++tier) {
                int d = distanceFrom(g, tier, w);
                if (d >= 0) expectedTier = tier, expectedLength = d;
            }
            std::optional<Path> path = paths.pathTo(NodeId(w));
            ASSERT_EQ(path.has_value(), expectedTier >= 0) << "round " << round;
            if (!path) continue;
            const Root& root = g.roots[path->root];
            ASSERT_EQ(rootTier(root.kind), expectedTier) << "round " << round;
            ASSERT_EQ(path->nodes.front(), root.node);
            ASSERT_EQ(path->nodes.back(), NodeId(w));
            ASSERT_EQ(static_cast<int>(path->nodes.size()) - 1, expectedLength) << "round " << round;
            for (std::size_t i = 0; i + 1 < path->nodes.size(); ++i) {
                auto edge = std::pair(path->nodes[i].value, path->nodes[i + 1].value);
                ASSERT_NE(std::find(g.edges.begin(), g.edges.end(), edge), g.edges.end());
                ASSERT_EQ(paths.parent(path->nodes[i + 1]), path->nodes[i]);
            }
        }
    }
}

TEST(Census, CountsShallowAndNonNestedRetainedPerType) {
    std::mt19937 rng(99);
    for (int round = 0; round < 1000; ++round) {
        RandomGraph g = randomGraph(rng);
        ObjectGraph graph = g.build();
        DominatorTree tree(graph);
        auto dom = bruteDominators(g);
        std::vector<CensusRow> rows = census(graph, tree);
        for (std::size_t i = 1; i < rows.size(); ++i)
            ASSERT_GE(rows[i - 1].shallowBytes, rows[i].shallowBytes);
        std::uint64_t total = 0;
        for (const CensusRow& row : rows) {
            std::uint64_t count = 0, shallow = 0, retained = 0;
            for (std::uint32_t w = 0; w < g.n; ++w) {
                if (g.types[w] == row.type.value) ++count, shallow += g.sizes[w];
                bool coveredByType = std::any_of(dom[w].begin(), dom[w].end(), [&](std::uint32_t d) {
                    return g.types[d] == row.type.value;
                });
                if (coveredByType) retained += g.sizes[w];
            }
            ASSERT_EQ(row.count, count);
            ASSERT_EQ(row.shallowBytes, shallow);
            ASSERT_EQ(row.retainedBytes, retained) << "round " << round << " type " << row.type.value;
            total += row.count;
        }
        ASSERT_EQ(total, g.n);
    }
}

TEST(Census, LargestRetainersAreSortedAndReachable) {
    // 0 -> 1 -> {2, 3}; 4 is garbage.
    ObjectGraph graph = graphFromEdges(5, {{0, 1}, {1, 2}, {1, 3}}, {10, 20, 30, 40, 1000}, {0, 0, 0, 0, 0},
                                       {{NodeId(0), RootKind::Module, 0}});
    DominatorTree tree(graph);
    std::vector<NodeId> top = largestRetainers(graph, tree, 3);
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0], NodeId(0));
    EXPECT_EQ(top[1], NodeId(1));
    EXPECT_EQ(top[2], NodeId(3));
    EXPECT_EQ(tree.retainedSize(NodeId(0)), 100u);
    EXPECT_FALSE(tree.reachable(NodeId(4)));
    EXPECT_EQ(tree.reachableSize(), 100u);
}

TEST(Diff, NewAndGoneByTypeWithIdentityKeys) {
    // Older: keys 1 (A), 2 (A), 3 (B). Newer: 2 (A), 3 (C: same address, other type), 4 (A), 4 (A).
    ObjectGraph older = graphFromEdges(3, {}, {10, 20, 30}, {0, 0, 1}, {});
    ObjectGraph newer = graphFromEdges(4, {}, {20, 30, 40, 50}, {0, 1, 0, 0}, {});
    std::vector<std::uint64_t> olderKeys{1, 2, 3}, newerKeys{2, 3, 4, 4};
    std::vector<std::string> olderNames{"A", "B"}, newerNames{"A", "C"};
    SnapshotDiff d = diffSnapshots({older, olderKeys, olderNames}, {newer, newerKeys, newerNames});
    ASSERT_EQ(d.rows.size(), 3u);
    EXPECT_EQ(d.rows[0].typeName, "A");
    EXPECT_EQ(d.rows[0].newCount, 2u);
    EXPECT_EQ(d.rows[0].newBytes, 90u);
    EXPECT_EQ(d.rows[0].goneCount, 1u);
    EXPECT_EQ(d.rows[0].goneBytes, 10u);
    EXPECT_EQ(d.rows[1].typeName, "C");
    EXPECT_EQ(d.rows[1].newCount, 1u);
    EXPECT_EQ(d.rows[2].typeName, "B");
    EXPECT_EQ(d.rows[2].goneCount, 1u);
    EXPECT_EQ(d.rows[2].goneBytes, 30u);
    EXPECT_EQ(d.newNodes, (std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)}));
}

TEST(Diff, RejectsMissingKeys) {
    ObjectGraph g = graphFromEdges(2, {}, {1, 1}, {0, 0}, {});
    std::vector<std::uint64_t> keys{1};
    std::vector<std::string> names{"A"};
    EXPECT_THROW(diffSnapshots({g, keys, names}, {g, keys, names}), common::Error);
}

TEST(ObjectGraph, RejectsEdgesToMissingNodes) {
    EXPECT_THROW(graphFromEdges(2, {{0, 2}}, {1, 1}, {0, 0}, {}), common::Error);
    EXPECT_THROW(graphFromEdges(2, {}, {1, 1}, {0, 0}, {{NodeId(5), RootKind::Module, 0}}), common::Error);
}

TEST(GraphBuilder, NodesNeverStartedHaveNoEdges) {
    GraphBuilder builder;
    for (std::uint64_t address : {0x10, 0x20, 0x30, 0x40, 0x50}) builder.addNode(address);
    builder.beginEdges(NodeId(1));
    builder.addEdge(NodeId(2));
    builder.beginEdges(NodeId(3));
    builder.addEdge(NodeId(0));
    builder.addEdge(NodeId(4));
    EXPECT_THROW(builder.beginEdges(NodeId(2)), common::Error);
    EXPECT_THROW(builder.beginEdges(NodeId(5)), common::Error);
    ObjectGraph g = builder.finish();
    EXPECT_EQ(valuesOf(g.offsets()), (std::vector<std::uint32_t>{0, 0, 1, 1, 3, 3}));
    EXPECT_EQ(valuesOf(g.targets()), (std::vector<std::uint32_t>{2, 0, 4}));
}

TEST(Column, GrowsShrinksCopiesAndMoves) {
    Column<std::uint64_t> column;
    for (std::uint64_t i = 0; i < 1000; ++i) column.push_back(i * i);
    column.reserve(5000);
    EXPECT_EQ(column.capacity(), 5000u);
    column.shrink_to_fit();
    EXPECT_EQ(column.capacity(), 1000u);
    EXPECT_EQ(column[999], 999u * 999u);
    column.resize(1002, 7);
    EXPECT_EQ(column[1001], 7u);
    Column<std::uint64_t> copy = column;
    EXPECT_EQ(copy, column);
    Column<std::uint64_t> moved = std::move(copy);
    EXPECT_EQ(moved, column);
    EXPECT_TRUE(copy.empty());
    column.resize(0);
    column.shrink_to_fit();
    EXPECT_EQ(column.capacity(), 0u);
    EXPECT_EQ(valuesOf(Column<std::uint32_t>{3, 1, 2}), (std::vector<std::uint32_t>{3, 1, 2}));
}

TEST(ObjectGraph, KeepsSizesOfFourGigabytesAndMore) {
    ObjectGraph g = graphFromEdges(2, {{0, 1}}, {5ull << 32, 7}, {0, 0}, {{NodeId(0), RootKind::Module, 0}});
    EXPECT_EQ(g.shallowSize(NodeId(0)), 5ull << 32);
    EXPECT_EQ(g.totalSize(), (5ull << 32) + 7);
    EXPECT_EQ(DominatorTree(g).retainedSize(NodeId(0)), (5ull << 32) + 7);
}

class SnapshotFileTest : public ::testing::Test {
protected:
    std::string m_path = ::testing::TempDir() + "memhound_graph_test.snap";
    void TearDown() override { std::remove(m_path.c_str()); }

    SnapshotData sample() const {
        SnapshotData data;
        data.graph = graphFromEdges(3, {{0, 1}, {1, 2}, {2, 1}}, {16, 32, 1ull << 33}, {0, 1, 1},
                                    {{NodeId(0), RootKind::Module, 0}, {NodeId(2), RootKind::External, 1}},
                                    {0x1000, 0x2000, 0x3000});
        data.typeNames = {"module", "dict"};
        data.rootLabels = {"app", "<external>"};
        data.sequences = {5, 6, 7};
        data.stacks = {1, 2, 3};
        data.strings = {"", "cache"};
        data.pathLabels = {{0, 0, 0}, {1, 1, 0}, {2, 1, 0}};
        return data;
    }
    std::string bytes() const {
        std::ifstream in(m_path, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
    void write(const std::string& content) const {
        std::ofstream(m_path, std::ios::binary | std::ios::trunc) << content;
    }
};

TEST_F(SnapshotFileTest, RoundTrips) {
    SnapshotData data = sample();
    saveSnapshot(m_path, data);
    SnapshotData loaded = loadSnapshot(m_path);
    EXPECT_EQ(valuesOf(loaded.graph.offsets()), valuesOf(data.graph.offsets()));
    EXPECT_EQ(valuesOf(loaded.graph.targets()), valuesOf(data.graph.targets()));
    EXPECT_EQ(valuesOf(loaded.graph.addressColumn()), valuesOf(data.graph.addressColumn()));
    EXPECT_EQ(loaded.graph.shallowSize(NodeId(2)), 1ull << 33);
    EXPECT_EQ(loaded.graph.roots().size(), 2u);
    EXPECT_EQ(loaded.graph.roots()[1].kind, RootKind::External);
    EXPECT_EQ(loaded.typeNames, data.typeNames);
    EXPECT_EQ(loaded.rootLabels, data.rootLabels);
    EXPECT_EQ(loaded.sequences, data.sequences);
    EXPECT_EQ(loaded.stacks, data.stacks);
    EXPECT_EQ(loaded.strings, data.strings);
    EXPECT_EQ(loaded.pathLabels[2].kind, 2);
    EXPECT_EQ(loaded.pathLabels[2].label, 1u);
}

TEST_F(SnapshotFileTest, RejectsCorruptionTruncationAndForeignFiles) {
    saveSnapshot(m_path, sample());
    std::string good = bytes();
    for (std::size_t at : {std::size_t{9}, good.size() / 2, good.size() - 1}) {
        std::string bad = good;
        bad[at] = static_cast<char>(bad[at] ^ 0x5a);
        write(bad);
        EXPECT_THROW(loadSnapshot(m_path), common::FormatError) << "flipped byte " << at;
    }
    for (std::size_t length : {std::size_t{0}, std::size_t{10}, good.size() - 3}) {
        write(good.substr(0, length));
        EXPECT_THROW(loadSnapshot(m_path), common::FormatError) << "truncated to " << length;
    }
    write("not a snapshot at all, just text");
    EXPECT_THROW(loadSnapshot(m_path), common::FormatError);
    EXPECT_THROW(loadSnapshot(m_path + ".missing"), common::FormatError);
}

}  // namespace
}  // namespace memhound::graph
