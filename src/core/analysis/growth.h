#pragma once
// Growth per allocation site across checkpoints: what the leak detector asks after running
// the same unit of work several times (sequence numbers taken between iterations).
#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/replay.h"
#include "core/analysis/symbols.h"
#include "core/common/ids.h"
#include "core/format/event_stream.h"
#include "core/format/flat_map.h"

namespace memhound::analysis {

struct SiteGrowth {
    common::StackId stack;
    common::Allocator allocator = common::Allocator::PyObject;  // as siteAllocator (sites.h) gives it
    std::vector<std::uint64_t> counts;  // live allocations of this stack at each checkpoint
    std::vector<std::uint64_t> bytes;
};

// Live allocations per stack just before each checkpoint seq (ascending), counting only the
// allocations made at or after checkpoints[0]; only the stacks with live allocations at the
// last checkpoint, by canonical stack id (the same frames recorded under several ids are one)
// and site allocator (a line's native memory grows apart from its Python objects).
// Recorded allocations, not weighted. The constructor throws std::invalid_argument when the
// checkpoints are not ascending.
class GrowthPass final : public format::EventSink {
public:
    GrowthPass(const Symbols& symbols, std::span<const std::uint64_t> checkpoints);
    void consume(std::span<const format::Event> run) override;
    std::vector<SiteGrowth> finish();

private:
    struct Live {
        std::uint64_t count = 0;
        std::uint64_t bytes = 0;
    };
    using LiveByStack = format::FlatMap<Live>;
    void apply(const format::Event& event);

    const Symbols& m_symbols;
    std::vector<std::uint64_t> m_checkpoints;
    format::Header m_fullMode;  // growth counts recorded allocations: no sampling weights
    Weigher m_weigher{m_fullMode};
    LiveSet m_live{m_weigher};
    LiveByStack m_byStack;
    std::vector<LiveByStack> m_snapshots;  // one per checkpoint passed
};

}  // namespace memhound::analysis
