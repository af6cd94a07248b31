#include "core/analysis/stats.h"

#include <algorithm>
#include <bit>

namespace memhound::analysis {
namespace {

double secondsSinceStart(const format::Capture& capture, std::int64_t timeNs) {
    return static_cast<double>(timeNs - capture.header.startTimeNs) / 1e9;
}

double duration(const format::Capture& capture) {
    double seconds = 0;
    if (capture.trailer) {
        seconds = secondsSinceStart(capture, capture.trailer->endTimeNs);
    } else if (!capture.samples.empty()) {
        seconds = secondsSinceStart(capture, capture.samples.back().timeNs);
    }
    return std::max(seconds, 0.0);
}

std::vector<SizeBucket> sizeHistogram(const format::Capture& capture, const Weigher& weigher) {
    std::vector<SizeBucket> buckets(65);
    for (const format::Event& event : capture.events) {
        if (event.kind != format::EventKind::Alloc) continue;
        SizeBucket& bucket = buckets[std::bit_width(event.size)];  // sizes in [2^(w-1), 2^w)
        bucket.amount.bytes += weigher.bytes(event.size);
        bucket.amount.count += weigher.count(event.size);
    }
    std::vector<SizeBucket> used;
    for (std::size_t width = 0; width < buckets.size(); ++width) {
        if (buckets[width].amount.count == 0) continue;
        buckets[width].low = width == 0 ? 0 : std::uint64_t{1} << (width - 1);
        buckets[width].high = width == 64 ? ~std::uint64_t{0} : std::uint64_t{1} << width;
        used.push_back(buckets[width]);
    }
    return used;
}

// Counts, totals and the live set at the end, in one replay; returns the allocations per stack.
StackTotals replayTotals(const format::Capture& capture, const Weigher& weigher, Stats& stats) {
    LiveSet live(weigher);
    StackTotals allocationsByStack;
    for (const format::Event& event : capture.events) {
        live.apply(event);
        if (event.kind == format::EventKind::Free) {
            ++stats.recordedFrees;
            continue;
        }
        ++stats.recordedAllocations;
        Amount* site = allocationsByStack.findOrInsert(event.stack.value);
        for (Amount* amount : {&stats.allocated, site}) {
            amount->bytes += weigher.bytes(event.size);
            amount->count += weigher.count(event.size);
        }
    }
    live.forEach(
        [&](const LiveAllocation& allocation) { stats.liveAtEnd.count += weigher.count(allocation.size); });
    stats.liveAtEnd.bytes = live.liveBytes();
    return allocationsByStack;
}

std::size_t countThreads(const format::Capture& capture) {
    format::FlatMap<bool> seen(capture.threads.size() + 4);
    for (const format::ThreadRecord& thread : capture.threads) *seen.findOrInsert(thread.id.value) = true;
    common::ThreadId last(~0u);
    for (const format::Event& event : capture.events) {
        if (event.thread != last) *seen.findOrInsert(event.thread.value) = true;
        last = event.thread;
    }
    return seen.size();
}

}  // namespace

Stats computeStats(const format::Capture& capture, const Weigher& weigher, const Symbols& symbols) {
    Stats stats;
    StackTotals allocationsByStack = replayTotals(capture, weigher, stats);
    stats.topSitesByCount =
        groupSites(allocationsByStack, symbols, GroupBy::Line, SortBy::Count, kTopSites).rows;
    Peak peak = findPeak(capture, weigher);
    stats.peakBytes = peak.bytes;
    stats.peakSeq = peak.eventCount == 0 ? 0 : capture.events[peak.eventCount - 1].seq;
    stats.durationSeconds = duration(capture);
    stats.sizeHistogram = sizeHistogram(capture, weigher);
    stats.threads = countThreads(capture);
    return stats;
}

std::vector<TimelinePoint> computeTimeline(const format::Capture& capture, const Weigher& weigher) {
    std::vector<format::Sample> samples = capture.samples;
    std::stable_sort(samples.begin(), samples.end(),
                     [](const format::Sample& a, const format::Sample& b) { return a.seq < b.seq; });
    LiveSet live(weigher);
    std::size_t next = 0;
    std::vector<TimelinePoint> points;
    for (const format::Sample& sample : samples) {
        for (; next < capture.events.size() && capture.events[next].seq < sample.seq; ++next)
            live.apply(capture.events[next]);
        points.push_back({secondsSinceStart(capture, sample.timeNs), sample.rssBytes, live.liveBytes()});
    }
    std::stable_sort(points.begin(), points.end(), [](const TimelinePoint& a, const TimelinePoint& b) {
        return a.timeSeconds < b.timeSeconds;
    });
    return points;
}

}  // namespace memhound::analysis
