#include <gtest/gtest.h>

#include <cstdint>

#include "core/record/intern_table.h"

namespace memhound::record {
namespace {

using Table = InternTable<std::uintptr_t, PointerHash>;

TEST(InternTableTest, FindsWhatWasInsertedAndNothingElse) {
    Table table;
    table.insert(0x1000, 7);
    table.insert(0x2000, 8);
    EXPECT_EQ(table.find(0x1000), 7u);
    EXPECT_EQ(table.find(0x2000), 8u);
    EXPECT_EQ(table.find(0x3000), 0u);
}

TEST(InternTableTest, ErasedKeysAreGoneAndTheirNeighboursStayFound) {
    Table table;
    for (std::uintptr_t key = 1; key <= 3000; ++key) table.insert(key * 16, static_cast<std::uint32_t>(key));
    for (std::uintptr_t key = 1; key <= 3000; key += 2) table.erase(key * 16);
    for (std::uintptr_t key = 1; key <= 3000; ++key)
        EXPECT_EQ(table.find(key * 16), key % 2 == 1 ? 0u : key) << key;
    table.insert(16, 9001);  // an address taken again by a new object gets a new id
    EXPECT_EQ(table.find(16), 9001u);
    table.erase(0xdead0);  // absent: nothing happens
    EXPECT_EQ(table.find(32), 2u);
}

TEST(InternTableTest, GrowingDropsTombstonesAndKeepsLiveKeys) {
    Table table;
    for (std::uint32_t round = 0; round < 20; ++round) {  // insert and erase far more than the table holds
        for (std::uintptr_t key = 1; key <= 400; ++key) table.insert((round * 1000 + key) * 16, round * 1000 + static_cast<std::uint32_t>(key));
        for (std::uintptr_t key = 1; key <= 400; ++key)
            if (key != 400) table.erase((round * 1000 + key) * 16);
    }
    for (std::uint32_t round = 0; round < 20; ++round) EXPECT_EQ(table.find((round * 1000 + 400) * 16), round * 1000 + 400);
}

}  // namespace
}  // namespace memhound::record
