// The per-type census (memhound.summary, SummaryTracker.diff, show_growth) and the scan for the
// references into a set of nodes (memhound.referrers, memhound.graph).
#include <gtest/gtest.h>

#include "core/graph/object_graph.h"
#include "core/graph/referrers.h"
#include "core/graph/type_census.h"

namespace memhound::graph {
namespace {

std::vector<std::tuple<std::string, std::int64_t, std::int64_t>> tuplesOf(const TypeCensus& census) {
    std::vector<std::tuple<std::string, std::int64_t, std::int64_t>> out;
    for (const TypeTally& row : census.rows()) out.emplace_back(row.type, row.count, row.bytes);
    return out;
}

TEST(TypeCensus, MergesRowsOfOneNameAndSortsByBytes) {
    TypeCensus census({{"str", 10, 500}, {"app.Foo", 2, 112}, {"dict", 3, 700}, {"app.Foo", 1, 56}});
    using Row = std::tuple<std::string, std::int64_t, std::int64_t>;
    EXPECT_EQ(tuplesOf(census), (std::vector<Row>{{"dict", 3, 700}, {"str", 10, 500}, {"app.Foo", 3, 168}}));
    EXPECT_EQ(census.totalCount(), 16);
    EXPECT_EQ(census.totalBytes(), 1368);
}

TEST(TypeCensus, TiesAreOrderedByCountThenName) {
    TypeCensus census({{"b", 1, 8}, {"a", 1, 8}, {"c", 2, 8}});
    using Row = std::tuple<std::string, std::int64_t, std::int64_t>;
    EXPECT_EQ(tuplesOf(census), (std::vector<Row>{{"c", 2, 8}, {"a", 1, 8}, {"b", 1, 8}}));
}

TEST(TypeCensus, MinusKeepsOnlyChangedTypesGrowthFirst) {
    TypeCensus older({{"str", 10, 500}, {"list", 4, 300}, {"gone", 2, 64}, {"same", 1, 16}});
    TypeCensus newer({{"str", 12, 600}, {"list", 3, 250}, {"new", 5, 40}, {"same", 1, 16}});
    using Row = std::tuple<std::string, std::int64_t, std::int64_t>;
    EXPECT_EQ(tuplesOf(newer.minus(older)),
              (std::vector<Row>{{"str", 2, 100}, {"new", 5, 40}, {"list", -1, -50}, {"gone", -2, -64}}));
    EXPECT_TRUE(newer.minus(newer).rows().empty());
    // A change of size alone is a change (a list that grew in place).
    TypeCensus resized({{"str", 10, 520}});
    EXPECT_EQ(tuplesOf(resized.minus(TypeCensus({{"str", 10, 500}}))), (std::vector<Row>{{"str", 0, 20}}));
}

TEST(TypeCensus, GrowthListsOnlyTypesWithMoreInstances) {
    TypeCensus older({{"a", 10, 100}, {"b", 5, 50}, {"c", 7, 70}});
    TypeCensus newer({{"a", 13, 130}, {"b", 4, 40}, {"c", 7, 90}, {"d", 3, 30}, {"e", 1, 10}});
    std::vector<TypeGrowth> grown = newer.growthSince(older, 10);
    ASSERT_EQ(grown.size(), 3u);
    EXPECT_EQ(grown[0].type, "a");  // +3, before "d" (+3) by name
    EXPECT_EQ(grown[0].count, 13);
    EXPECT_EQ(grown[0].delta, 3);
    EXPECT_EQ(grown[1].type, "d");
    EXPECT_EQ(grown[2].type, "e");
    EXPECT_EQ(newer.growthSince(older, 1).size(), 1u);
    EXPECT_EQ(newer.growthSince(TypeCensus(), 10).size(), 5u);  // first call: everything grew
}

TEST(EdgesInto, FindsEveryReferrerOncePerPair) {
    // 0 -> 2 twice (a list holding it twice), 1 -> 2, 2 -> 3, 3 -> 2, 4 -> 3
    ObjectGraph graph = graphFromEdges(5, {{0, 2}, {0, 2}, {1, 2}, {2, 3}, {3, 2}, {4, 3}}, {8, 8, 8, 8, 8},
                                       {0, 0, 0, 0, 0}, {});
    std::vector<std::pair<NodeId, NodeId>> edges = edgesInto(graph, {NodeId(2)});
    std::vector<std::pair<std::uint32_t, std::uint32_t>> raw;
    for (auto [from, to] : edges) raw.emplace_back(from.value, to.value);
    EXPECT_EQ(raw, (std::vector<std::pair<std::uint32_t, std::uint32_t>>{{0, 2}, {1, 2}, {3, 2}}));
    raw.clear();
    for (auto [from, to] : edgesInto(graph, {NodeId(3), NodeId(2)})) raw.emplace_back(from.value, to.value);
    using Pairs = std::vector<std::pair<std::uint32_t, std::uint32_t>>;
    EXPECT_EQ(raw, (Pairs{{0, 2}, {1, 2}, {3, 2}, {2, 3}, {4, 3}}));
    EXPECT_TRUE(edgesInto(graph, {NodeId(0)}).empty());
    EXPECT_TRUE(edgesInto(graph, {NodeId(99)}).empty());  // out of range: no edges, no crash
}

}  // namespace
}  // namespace memhound::graph
