#pragma once
// Growth per allocation site across checkpoints: what the leak detector asks after running
// the same unit of work several times (sequence numbers taken between iterations).
#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/symbols.h"
#include "core/common/ids.h"
#include "core/format/reader.h"

namespace memhound::analysis {

struct SiteGrowth {
    common::StackId stack;
    std::vector<std::uint64_t> counts;  // live allocations of this stack at each checkpoint
    std::vector<std::uint64_t> bytes;
};

// Live allocations per stack just before each checkpoint seq (ascending), counting only the
// allocations made at or after checkpoints[0]; only the stacks with live allocations at the
// last checkpoint, by canonical stack id (the same frames recorded under several ids are one). Recorded allocations, not weighted. Throws
// std::invalid_argument when the checkpoints are not ascending.
std::vector<SiteGrowth> siteGrowth(const format::Capture& capture, const Symbols& symbols,
                                   std::span<const std::uint64_t> checkpoints);

}  // namespace memhound::analysis
