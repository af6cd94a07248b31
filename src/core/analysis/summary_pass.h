#pragma once
// Everything the reports ask of a capture, gathered in one pass over its events in seq order:
// the sites live at the peak and at the end, the temporary ones, the stats and the timeline.
// Memory: the live allocations plus a few figures per stack, never per event. The peak's sites
// are kept without a second pass: each stack's live amount is copied to its at-peak amount when
// a new high-water mark is reached, for the stacks that changed since the last one only.
#include <cstdint>
#include <span>
#include <vector>

#include "core/analysis/replay.h"
#include "core/analysis/sites.h"
#include "core/analysis/stats.h"
#include "core/format/event_stream.h"
#include "core/format/flat_map.h"

namespace memhound::analysis {

struct CaptureSummary {
    StackTotals peak, leaks, temporary, allocated;  // per site key (sites.h)
    std::uint64_t events = 0;
    std::uint64_t recordedAllocations = 0;
    std::uint64_t recordedFrees = 0;
    Amount allocatedTotal;
    double peakBytes = 0;
    std::uint64_t peakSeq = 0;
    std::vector<SizeBucket> sizeHistogram;
    std::vector<TimelinePoint> timeline;
    std::size_t eventThreads = 0;                 // threads with events, or named
    std::vector<LiveAllocation> liveAtEnd;        // by seq, stack ids as recorded
    double liveBytesAtEnd = 0;
    Amount liveAtEndTotal;
};

class SummaryPass final : public format::EventSink {
public:
    // `samples` (any order) are paired with the traced bytes live when each was taken.
    SummaryPass(const Weigher& weigher, std::span<const format::Sample> samples, std::int64_t startTimeNs);
    void consume(std::span<const format::Event> run) override;
    // Ends the pass; `namedThreads` are the thread ids the capture names.
    CaptureSummary finish(std::span<const format::ThreadRecord> namedThreads);

private:
    struct StackTally {
        Amount live, atPeak, allocated, temporary;
        std::uint64_t liveCount = 0, atPeakCount = 0;  // recorded allocations, to tell none from ~0
        bool changedSincePeak = false;
    };
    StackTally& tally(std::uint64_t site);
    void noteChange(std::uint64_t site, StackTally& tally);
    void apply(const format::Event& event);
    void released(const LiveAllocation& allocation, bool isFree);
    void newPeak(const format::Event& event);
    void takeSamplesBefore(std::uint64_t seq);

    const Weigher& m_weigher;
    LiveSet m_live;
    format::FlatMap<StackTally> m_stacks{1024};  // by site key (sites.h)
    std::vector<std::uint64_t> m_changed;        // sites whose live amount changed since the last peak
    std::vector<format::Sample> m_samples;  // by seq
    std::size_t m_nextSample = 0;
    std::int64_t m_startTimeNs;
    std::vector<SizeBucket> m_buckets = std::vector<SizeBucket>(65);
    format::FlatMap<bool> m_threads{16};
    std::uint32_t m_lastThread = 0;  // consecutive events mostly share a thread
    bool m_anyThread = false;
    CaptureSummary m_summary;
};

}  // namespace memhound::analysis
