#pragma once
// Allocation sites: which code holds the memory at the peak or at the end, or makes
// short-lived (temporary) allocations, grouped by line, function or whole stack.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/analysis/replay.h"
#include "core/analysis/symbols.h"
#include "core/format/flat_map.h"

namespace memhound::analysis {

enum class View { Peak, Leaks, Temporary };
enum class GroupBy { Line, Function, Stack };
enum class SortBy { Bytes, Count };

// An allocation freed before its thread made more than this many other allocations is temporary.
inline constexpr std::uint64_t kTemporaryWithin = 3;

struct Amount {
    double bytes = 0;
    double count = 0;  // weighted in sampled mode, hence not an integer
};

// Bytes and allocations per stack id, the input of grouping.
using StackTotals = format::FlatMap<Amount>;

struct SiteRow {
    Amount amount;
    common::StackId stack;      // the group's heaviest stack, whose frames are shown
    std::vector<Frame> frames;  // innermost first; empty for allocations made with no Python frame
};

// The top rows of a view and the totals over all of its rows (for shares).
struct SiteSummary {
    std::vector<SiteRow> rows;
    Amount total;
    std::size_t siteCount = 0;  // rows before the limit
};

// Rows sorted by `sort`, descending; limit 0 = all. Frames are resolved for the kept rows only.
SiteSummary groupSites(const StackTotals& totals, const Symbols& symbols, GroupBy by, SortBy sort,
                       std::size_t limit);

}  // namespace memhound::analysis
