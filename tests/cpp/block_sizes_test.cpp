// BlockSizes (core/record/block_sizes.h): the line meter's address -> size table, against a
// std::unordered_map oracle on random inserts and takes that make long probe runs wrap around.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "core/record/block_sizes.h"

namespace memhound::record {
namespace {

TEST(BlockSizes, TakeGivesTheSizeOnceAndZeroForUnknownBlocks) {
    BlockSizes sizes;
    sizes.insert(0x1000, 64);
    sizes.insert(0x2000, 4096);
    EXPECT_EQ(sizes.take(0x1000), 64u);
    EXPECT_EQ(sizes.take(0x1000), 0u);
    EXPECT_EQ(sizes.take(0x3000), 0u);
    EXPECT_EQ(sizes.take(0x2000), 4096u);
    EXPECT_EQ(sizes.size(), 0u);
}

TEST(BlockSizes, AReusedAddressTakesTheNewSize) {
    BlockSizes sizes;
    sizes.insert(0x1000, 64);
    sizes.insert(0x1000, 128);
    EXPECT_EQ(sizes.size(), 1u);
    EXPECT_EQ(sizes.take(0x1000), 128u);
}

TEST(BlockSizes, AgreesWithAMapOnRandomChurn) {
    BlockSizes sizes;
    std::unordered_map<std::uint64_t, std::uint64_t> oracle;
    std::vector<std::uint64_t> live;
    std::mt19937_64 random(7);
    for (int step = 0; step < 400000; ++step) {
        // Addresses from a small range collide in the table's slots; growth to ~20k live blocks.
        const bool allocate = live.empty() || random() % 100 < (step < 200000 ? 60 : 40);
        if (allocate) {
            const std::uint64_t address = 16 * (1 + random() % 50000);
            const std::uint64_t size = 1 + random() % 1000;
            sizes.insert(address, size);
            if (!oracle.count(address)) live.push_back(address);
            oracle[address] = size;
        } else {
            const std::size_t pick = random() % live.size();
            const std::uint64_t address = live[pick];
            live[pick] = live.back();
            live.pop_back();
            ASSERT_EQ(sizes.take(address), oracle[address]) << "step " << step;
            oracle.erase(address);
        }
        ASSERT_EQ(sizes.size(), oracle.size());
    }
    for (const auto& [address, size] : oracle) ASSERT_EQ(sizes.take(address), size);
    sizes.clear();
    EXPECT_EQ(sizes.take(16), 0u);
}

}  // namespace
}  // namespace memhound::record
