#pragma once
// Whole-capture figures (`memhound stats`) and the timeline of RSS against traced bytes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/analysis/sites.h"
#include "core/format/reader.h"

namespace memhound::analysis {

// Allocations of sizes in [low, high): powers of two.
struct SizeBucket {
    std::uint64_t low = 0;
    std::uint64_t high = 0;
    Amount amount;
};

struct Stats {
    std::uint64_t events = 0;
    std::uint64_t recordedAllocations = 0;
    std::uint64_t recordedFrees = 0;
    Amount allocated;  // every allocation, weighted in sampled mode
    double peakBytes = 0;
    std::uint64_t peakSeq = 0;  // the allocation that reached the peak
    Amount liveAtEnd;
    double durationSeconds = 0;  // 0 when the capture has no trailer and no sample
    std::vector<SizeBucket> sizeHistogram;
    std::vector<SiteRow> topSitesByCount;  // by line
    std::size_t threads = 0;
};

inline constexpr std::size_t kTopSites = 10;

struct TimelinePoint {
    double timeSeconds = 0;  // since the capture started
    std::uint64_t rssBytes = 0;
    double tracedBytes = 0;  // live traced bytes when the sample was taken
    std::uint64_t seq = 0;   // the sample was taken before the event of this seq
};

// Seconds from the start to the trailer, or to the last sample of a capture cut short.
double captureDuration(const format::Header& header, const std::optional<format::Trailer>& trailer,
                       const std::vector<format::Sample>& samples);

}  // namespace memhound::analysis
