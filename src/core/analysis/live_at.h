#pragma once
// What was live at chosen moments of a run: the weighted live amount of every site just before
// each checkpoint seq. The HTML report asks it for a bounded number of points on its timeline, so
// that selecting a part of the run shows what was live then without the page holding any event.
#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/replay.h"
#include "core/analysis/sites.h"
#include "core/format/event_stream.h"
#include "core/format/flat_map.h"

namespace memhound::analysis {

// Live amounts per site key (sites.h) before each checkpoint (ascending), counting every
// allocation the replay saw; a site appears in a snapshot only while it has live allocations.
// The constructor throws std::invalid_argument when the checkpoints are not ascending.
class LiveAtPass final : public format::EventSink {
public:
    LiveAtPass(const Weigher& weigher, std::span<const std::uint64_t> checkpoints);
    void consume(std::span<const format::Event> run) override;
    std::vector<StackTotals> finish();

private:
    struct Live {
        Amount amount;
        std::uint64_t count = 0;  // recorded allocations, to tell none from a weighted ~0
    };
    void apply(const format::Event& event);
    void takeSnapshotsBefore(std::uint64_t seq);
    void add(std::uint64_t site, std::uint64_t size, int sign);

    const Weigher& m_weigher;
    std::vector<std::uint64_t> m_checkpoints;
    LiveSet m_live;
    format::FlatMap<Live> m_bySite{1024};
    std::vector<StackTotals> m_snapshots;  // one per checkpoint passed
};

}  // namespace memhound::analysis
