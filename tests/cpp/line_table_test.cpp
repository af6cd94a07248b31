#include "core/analysis/line_table.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace memhound::analysis {
namespace {

struct LineRange {
    std::int32_t begin, end, line;  // code units [begin, end); line 0 = none
};

struct Vector {
    const char* name;
    std::int32_t firstLine;
    std::string table;
    std::vector<LineRange> lines;
};

// Produced by CPython 3.11.7: co_linetable of four functions, and their co_lines() (offsets
// halved into code units, None as 0). f mixes short, one-line and long forms with negative line
// deltas; h has a with-block and try/except, whose cleanup code has no location (form 15); far
// jumps 20 lines (long form) and spans a multi-line expression.
const std::vector<Vector>& vectors() {
    static const std::vector<Vector> all = {
        {"f",
         2,
         std::string(
             "\x80\x00\xd8\x09\x0a\x88\x03\x88\x62\x89\x08\x80\x41\xd8\x0e\x0f\xd8\x0e\x0f\xf0\x03\x01\x09"
             "\x11\xf0\x00\x01\x09\x11\x80\x41\xf0\x06\x00\x08\x09\xf0\x00\x02\x05\x13\xd8\x10\x11\xd8\x10"
             "\x11\xf0\x03\x01\x10\x13\xf0\x00\x01\x09\x13\xe0\x0a\x1f\xd0\x0a\x1f\x95\x65\x98\x41\x91\x68"
             "\x94\x68\xd0\x0a\x1f\xd1\x0a\x1f\xd4\x0a\x1f\x80\x43\xd8\x0b\x0e\x80\x4a",
             87),
         {{0, 1, 2},    {1, 2, 3},    {2, 3, 3},    {3, 4, 3},    {4, 6, 3},    {6, 7, 3},
          {7, 8, 4},    {8, 9, 5},    {9, 10, 4},   {10, 11, 4},  {11, 12, 4},  {12, 13, 7},
          {13, 14, 7},  {14, 15, 8},  {15, 16, 9},  {16, 17, 8},  {17, 18, 8},  {18, 19, 10},
          {19, 20, 10}, {20, 26, 10}, {26, 27, 10}, {27, 29, 10}, {29, 34, 10}, {34, 35, 10},
          {35, 37, 10}, {37, 42, 10}, {42, 43, 10}, {43, 44, 11}, {44, 45, 11}}},
        {"g", 13, std::string("\x80\x00\xd8\x04\x08\x80\x44", 7), {{0, 1, 13}, {1, 2, 14}, {2, 3, 14}}},
        {"h",
         2,
         std::string("\x80\x00\xdd\x09\x0d\x88\x64\x89\x1a\x8c\x1a\xf0\x00\x01\x05\x19\x90\x72\xd8\x0f\x11"
                     "\x8f\x77\x8a\x77\x89\x79\x8c\x79\x88\x04\xf0\x03\x01\x05\x19\xf0\x00\x01\x05\x19\xf0"
                     "\x00\x01\x05\x19\xf1\x00\x01\x05\x19\xf4\x00\x01\x05\x19\xf0\x00\x01\x05\x19\xf0\x00"
                     "\x01\x05\x19\xf0\x00\x01\x05\x19\xf0\x00\x01\x05\x19\xf0\x00\x01\x05\x19\xf0\x00\x01"
                     "\x05\x19\xf8\xf8\xf8\xf0\x00\x01\x05\x19\xf0\x00\x01\x05\x19\xf0\x00\x01\x05\x19\xf0"
                     "\x00\x01\x05\x19\xf0\x04\x03\x05\x0e\xdd\x0c\x0f\x90\x04\x89\x49\x8c\x49\x88\x01\x88"
                     "\x01\xf8\xdd\x0b\x15\xf0\x00\x01\x05\x0e\xf0\x00\x01\x05\x0e\xf0\x00\x01\x05\x0e\xd8"
                     "\x0c\x0d\x88\x01\x88\x01\x88\x01\xf0\x03\x01\x05\x0e\xf8\xf8\xf8\xe0\x0b\x0c\x80\x48",
                     168),
         {{0, 1, 2},   {1, 7, 3},   {7, 8, 3},   {8, 10, 3},  {10, 15, 3}, {15, 16, 3}, {16, 17, 3},
          {17, 18, 4}, {18, 26, 4}, {26, 29, 4}, {29, 31, 4}, {31, 36, 4}, {36, 37, 4}, {37, 38, 3},
          {38, 39, 3}, {39, 40, 3}, {40, 42, 3}, {42, 47, 3}, {47, 48, 3}, {48, 49, 3}, {49, 50, 3},
          {50, 51, 3}, {51, 52, 3}, {52, 53, 3}, {53, 54, 0}, {54, 55, 0}, {55, 56, 0}, {56, 57, 3},
          {57, 58, 3}, {58, 59, 3}, {59, 60, 3}, {60, 61, 5}, {61, 67, 6}, {67, 68, 6}, {68, 70, 6},
          {70, 75, 6}, {75, 76, 6}, {76, 77, 6}, {77, 78, 0}, {78, 84, 7}, {84, 85, 7}, {85, 86, 7},
          {86, 87, 7}, {87, 88, 8}, {88, 89, 8}, {89, 90, 8}, {90, 91, 8}, {91, 92, 7}, {92, 93, 0},
          {93, 94, 0}, {94, 95, 0}, {95, 96, 9}, {96, 97, 9}}},
        {"far",
         11,
         std::string("\x80\x00\xd8\x08\x09\x80\x41\xf0\x28\x00\x0a\x0b\xd8\x09\x0a\x88\x51\x89\x15\xd8\x09"
                     "\x0a\x88\x51\x89\x15\xf0\x05\x02\x09\x10\x80\x41\xf0\x06\x00\x0c\x0d\x80\x48",
                     40),
         {{0, 1, 11},
          {1, 2, 12},
          {2, 3, 12},
          {3, 4, 32},
          {4, 5, 33},
          {5, 6, 33},
          {6, 8, 33},
          {8, 9, 34},
          {9, 10, 34},
          {10, 12, 34},
          {12, 13, 32},
          {13, 14, 32},
          {14, 15, 35},
          {15, 16, 35}}},
    };
    return all;
}

TEST(LineTableTest, MatchesCPythonOnEveryInstruction) {
    for (const Vector& vector : vectors()) {
        LineTable table(vector.table, vector.firstLine);
        for (const LineRange& range : vector.lines)
            for (std::int32_t offset = range.begin; offset < range.end; ++offset)
                EXPECT_EQ(table.lineFor(offset), range.line) << vector.name << " at code unit " << offset;
    }
}

TEST(LineTableTest, NotStartedFrameIsOnItsFirstLine) {
    const Vector& g = vectors()[1];
    EXPECT_EQ(LineTable(g.table, g.firstLine).lineFor(-1), 13);
}

TEST(LineTableTest, OffsetPastTheEndHasNoLine) {
    const Vector& g = vectors()[1];
    EXPECT_EQ(LineTable(g.table, g.firstLine).lineFor(3), 0);
    EXPECT_EQ(LineTable(g.table, g.firstLine).lineFor(1 << 30), 0);
    EXPECT_EQ(LineTable("", 5).lineFor(0), 0);
}

TEST(LineTableTest, MalformedTableKeepsTheEntriesBeforeTheDamage) {
    const Vector& far = vectors()[3];
    // Cut inside the long-form entry at code unit 3: units 0-2 keep their lines, the rest has none.
    LineTable table(far.table.substr(0, 9), far.firstLine);
    EXPECT_EQ(table.lineFor(2), 12);
    EXPECT_EQ(table.lineFor(3), 0);
    std::string noStartBit = far.table;
    noStartBit[5] = 0x01;  // where an entry must start
    EXPECT_EQ(LineTable(noStartBit, far.firstLine).lineFor(2), 0);
}

TEST(LineTableTest, RandomBytesNeverCrash) {
    std::mt19937 random(11);
    std::uniform_int_distribution<int> byte(0, 255), length(0, 64);
    for (int round = 0; round < 2000; ++round) {
        std::string bytes;
        for (int n = length(random); n > 0; --n) bytes.push_back(static_cast<char>(byte(random)));
        LineTable table(bytes, 1);
        for (std::int32_t offset = -1; offset < 80; ++offset) EXPECT_GE(table.lineFor(offset), 0);
    }
}

}  // namespace
}  // namespace memhound::analysis
