// The class tracker's interpreter-free parts: the live table and the lifetime log.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

#include "core/objects/address_table.h"
#include "core/objects/lifetime_log.h"

namespace memhound::objects {
namespace {

TEST(AddressTableTest, MatchesAMapUnderRandomInsertsAndErases) {
    AddressTable<std::uint64_t> table;
    std::unordered_map<std::uintptr_t, std::uint64_t> oracle;
    std::mt19937_64 random(7);
    // Few distinct 16-aligned addresses, so that clusters form, collide and shift back.
    for (int step = 0; step < 200000; ++step) {
        std::uintptr_t key = 0x7f0000000000u + (random() % 5000) * 16;
        if (random() % 3 != 0) {
            bool existed = false;
            *table.slotFor(key, &existed) = static_cast<std::uint64_t>(step);
            EXPECT_EQ(existed, oracle.count(key) == 1);
            oracle[key] = static_cast<std::uint64_t>(step);
        } else {
            std::uint64_t value = 0;
            bool erased = table.erase(key, &value);
            ASSERT_EQ(erased, oracle.count(key) == 1);
            if (erased) {
                EXPECT_EQ(value, oracle[key]);
                oracle.erase(key);
            }
        }
    }
    ASSERT_EQ(table.size(), oracle.size());
    for (auto [key, value] : oracle) {
        ASSERT_NE(table.find(key), nullptr);
        EXPECT_EQ(*table.find(key), value);
    }
    std::size_t seen = 0;
    table.forEach([&](std::uintptr_t key, std::uint64_t& value) {
        ++seen;
        EXPECT_EQ(oracle.at(key), value);
    });
    EXPECT_EQ(seen, oracle.size());
}

TEST(AddressTableTest, EraseIfKeepsTheRestFindable) {
    AddressTable<int> table;
    for (int i = 1; i <= 3000; ++i) table.insert(static_cast<std::uintptr_t>(i) * 16, i);
    EXPECT_EQ(table.eraseIf([](std::uintptr_t, const int& v) { return v % 2 == 0; }), 1500u);
    EXPECT_EQ(table.size(), 1500u);
    for (int i = 1; i <= 3000; ++i) {
        int* v = table.find(static_cast<std::uintptr_t>(i) * 16);
        if (i % 2 == 0) {
            EXPECT_EQ(v, nullptr);
        } else {
            ASSERT_NE(v, nullptr);
            EXPECT_EQ(*v, i);
        }
    }
    bool called = false;
    EXPECT_TRUE(table.eraseWith(16, [&](const int& v) { called = v == 1; }));
    EXPECT_TRUE(called);
    EXPECT_FALSE(table.eraseWith(16, [](const int&) {}));
}

bool same(const Lifetime& a, const Lifetime& b) {
    return a.startTick == b.startTick && a.endTick == b.endTick && a.address == b.address && a.size == b.size &&
           a.stack == b.stack && a.group == b.group && a.adopted == b.adopted && a.lost == b.lost;
}

std::vector<Lifetime> randomLives(std::size_t count) {
    std::mt19937_64 random(11);
    std::vector<Lifetime> lives;
    std::uint64_t now = 1'000'000'000'000ull;
    for (std::size_t i = 0; i < count; ++i) {
        Lifetime r;
        now += random() % 4'000'000;
        r.startTick = now - random() % 50'000'000;  // not in order: lives end in another order
        r.endTick = r.startTick + random() % 100'000'000;
        r.address = 0x7f0000000000u + (random() % 100000) * 16;
        r.size = random() % 4 == 0 ? static_cast<std::uint32_t>(random() % 100000) : 56;
        r.stack = random() % 5 == 0 ? static_cast<std::uint32_t>(random() % 1000 + 1) : 0;
        r.group = random() % 10 == 0 ? static_cast<std::uint32_t>(random() % 50) : 3;
        r.adopted = random() % 7 == 0;
        r.lost = random() % 11 == 0;
        lives.push_back(r);
    }
    return lives;
}

TEST(LifetimeLogTest, RoundTripsAcrossChunks) {
    std::vector<Lifetime> lives = randomLives(400000);  // several 1 MiB chunks
    LifetimeLog log;
    for (const Lifetime& r : lives) log.push(r);
    ASSERT_EQ(log.size(), lives.size());
    std::size_t i = 0;
    log.forEach([&](const Lifetime& r) {
        ASSERT_LT(i, lives.size());
        EXPECT_TRUE(same(r, lives[i])) << "record " << i;
        ++i;
    });
    EXPECT_EQ(i, lives.size());
}

TEST(LifetimeLogTest, AShortLoopTakesAFewBytesARecord) {
    // What a create-and-drop loop writes: two addresses in turn, lives within one clock tick.
    LifetimeLog log;
    for (int i = 0; i < 100000; ++i) {
        Lifetime r;
        r.startTick = 5'000'000'000ull + static_cast<std::uint64_t>(i / 1000) * 4'000'000;
        r.endTick = r.startTick;
        r.address = 0x7f0000001000u + static_cast<std::uintptr_t>(i % 2) * 64;
        r.size = 56;
        log.push(r);
    }
    EXPECT_EQ(log.size(), 100000u);
    EXPECT_LE(log.bytes(), 100000u * 6);
    EXPECT_GE(log.bytes(), 100000u * 4);  // flags, address delta, start delta, duration
}

TEST(LifetimeLogTest, EraseIfKeepsTheOthersInOrder) {
    std::vector<Lifetime> lives = randomLives(50000);
    LifetimeLog log;
    for (const Lifetime& r : lives) log.push(r);
    log.eraseIf([](const Lifetime& r) { return r.group == 3; });
    std::vector<Lifetime> expected;
    for (const Lifetime& r : lives) {
        if (r.group != 3) expected.push_back(r);
    }
    ASSERT_EQ(log.size(), expected.size());
    std::size_t i = 0;
    log.forEach([&](const Lifetime& r) { EXPECT_TRUE(same(r, expected[i++])); });
}

}  // namespace
}  // namespace memhound::objects
