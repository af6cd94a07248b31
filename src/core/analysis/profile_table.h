#pragma once
// The table that profile exports (pprof, speedscope, collapsed stacks) are written from: each
// distinct stack of one or more views with its amount in each, its frames as indices into one
// list of distinct frames. Built in C++ so that a capture with many deep stacks is exported
// without a Python object per frame of every stack.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/analysis/sites.h"
#include "core/analysis/symbols.h"

namespace memhound::analysis {

struct ProfileFrame {
    std::string function;
    std::string file;
    std::int32_t line = 0;          // 0 = unknown
    std::int32_t functionLine = 0;  // the function's first line (co_firstlineno); 0 = unknown
};

struct ProfileStack {
    std::vector<std::uint32_t> frames;  // indices into ProfileTable::frames, innermost first
    common::Allocator allocator = common::Allocator::PyObject;  // as siteAllocator gives it
    std::vector<Amount> amounts;        // one per StackTotals given, in their order
};

struct ProfileTable {
    std::vector<ProfileFrame> frames;
    std::vector<ProfileStack> stacks;  // largest first amount first; ties by frames
};

// One stack per distinct (allocator, frames): stacks on the same lines of the same functions are
// merged, as `--by stack` merges them. Stacks with nothing in any of `totals` are left out.
ProfileTable profileTable(std::span<const StackTotals* const> totals, const Symbols& symbols);

}  // namespace memhound::analysis
