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

// Allocated: every allocation made, freed or not (what pprof calls alloc_space).
enum class View { Peak, Leaks, Temporary, Allocated };
enum class GroupBy { Line, Function, Stack };
enum class SortBy { Bytes, Count };

// An allocation freed before its thread made more than this many other allocations is temporary.
inline constexpr std::uint64_t kTemporaryWithin = 3;

struct Amount {
    double bytes = 0;
    double count = 0;  // weighted in sampled mode, hence not an integer
};

// A site is a stack and where its memory came from: every PyMem domain is one (Python's own
// memory, reported as PyObject), each other allocator its own, so that a line's numpy buffers
// (Tracked) or malloc blocks make a row apart from its Python objects. Key: stack | allocator << 32.
constexpr common::Allocator siteAllocator(common::Allocator allocator) {
    return common::isPyMem(allocator) ? common::Allocator::PyObject : allocator;
}
constexpr std::uint64_t siteKey(common::StackId stack, common::Allocator allocator) {
    return stack.value | std::uint64_t{static_cast<std::uint8_t>(siteAllocator(allocator))} << 32;
}
constexpr common::StackId stackOfSite(std::uint64_t key) { return common::StackId(static_cast<std::uint32_t>(key)); }
constexpr common::Allocator allocatorOfSite(std::uint64_t key) { return static_cast<common::Allocator>(key >> 32); }

// Bytes and allocations per site key, the input of grouping.
using StackTotals = format::FlatMap<Amount>;

struct SiteRow {
    Amount amount;
    common::StackId stack;      // the group's heaviest stack, whose frames are shown
    std::vector<Frame> frames;  // innermost first; empty for allocations made with no Python frame
    std::vector<NativeFrame> nativeFrames;  // the heaviest stack's C frames, innermost first
    common::Allocator allocator = common::Allocator::PyObject;  // as siteAllocator gives it
};

// The top rows of a view and the totals over all of its rows (for shares).
struct SiteSummary {
    std::vector<SiteRow> rows;
    Amount total;
    std::size_t siteCount = 0;  // rows before the limit
};

// Rows sorted by `sort`, descending; limit 0 = all. Frames are resolved for the kept rows only,
// and not at all without `withFrames` (a caller that resolves each stack once across summaries).
SiteSummary groupSites(const StackTotals& totals, const Symbols& symbols, GroupBy by, SortBy sort,
                       std::size_t limit, bool withFrames = true);

}  // namespace memhound::analysis
