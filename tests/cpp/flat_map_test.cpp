#include "core/format/flat_map.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

namespace memhound::format {
namespace {

// Random inserts and erases on keys that collide a lot (few distinct values, small table),
// checked against std::unordered_map after every step.
TEST(FlatMapTest, BehavesLikeUnorderedMapUnderInsertAndErase) {
    std::mt19937 random(3);
    std::uniform_int_distribution<std::uint64_t> key(0, 300);
    std::uniform_int_distribution<int> action(0, 2);
    FlatMap<std::uint64_t> map(4);
    std::unordered_map<std::uint64_t, std::uint64_t> expected;
    for (int step = 0; step < 20000; ++step) {
        std::uint64_t k = key(random) * 4096;  // page-like keys, as addresses are
        if (action(random) == 0) {
            EXPECT_EQ(map.erase(k), expected.erase(k) == 1);
        } else {
            *map.findOrInsert(k) += 1;
            expected[k] += 1;
        }
        ASSERT_EQ(map.size(), expected.size());
    }
    for (const auto& [k, value] : expected) {
        ASSERT_NE(map.find(k), nullptr);
        EXPECT_EQ(*map.find(k), value);
    }
    std::size_t visited = 0;
    map.forEach([&](std::uint64_t k, std::uint64_t value) {
        EXPECT_EQ(expected.at(k), value);
        ++visited;
    });
    EXPECT_EQ(visited, expected.size());
}

TEST(FlatMapTest, TheReservedKeyIsNeverStored) {
    FlatMap<int> map;
    EXPECT_EQ(map.findOrInsert(FlatMap<int>::kEmptyKey), nullptr);
    EXPECT_EQ(map.find(FlatMap<int>::kEmptyKey), nullptr);
    EXPECT_FALSE(map.erase(FlatMap<int>::kEmptyKey));
    EXPECT_EQ(map.size(), 0u);
}

}  // namespace
}  // namespace memhound::format
