#pragma once
// Test oracle: the straightforward analysis over a capture held whole in memory (replays from
// the start for every question), as memhound computed it before reports were streamed. The
// streaming summary must give the same figures.
#include <algorithm>
#include <bit>
#include <span>
#include <vector>

#include "core/analysis/growth.h"
#include "core/analysis/replay.h"
#include "core/analysis/sites.h"
#include "core/analysis/stats.h"
#include "core/format/reader.h"

namespace memhound::testing {

using analysis::Amount;
using analysis::LiveSet;
using analysis::StackTotals;
using analysis::Weigher;

inline void addTo(StackTotals& totals, common::StackId stack, common::Allocator allocator, double bytes,
                  double count) {
    Amount* amount = totals.findOrInsert(analysis::siteKey(stack, allocator));
    amount->bytes += bytes;
    amount->count += count;
}

inline StackTotals liveAfter(std::span<const format::Event> events, const Weigher& weigher, std::size_t count) {
    LiveSet live(weigher);
    for (std::size_t i = 0; i < count; ++i) live.apply(events[i]);
    StackTotals totals;
    live.forEach([&](const analysis::LiveAllocation& allocation) {
        addTo(totals, allocation.stack, allocation.allocator, weigher.bytes(allocation.size), weigher.count(allocation.size));
    });
    return totals;
}

struct ReferencePeak {
    std::size_t eventCount = 0;
    double bytes = 0;
};

inline ReferencePeak referencePeak(std::span<const format::Event> events, const Weigher& weigher) {
    LiveSet live(weigher);
    ReferencePeak peak;
    for (std::size_t i = 0; i < events.size(); ++i) {
        live.apply(events[i]);
        if (live.liveBytes() > peak.bytes) peak = {i + 1, live.liveBytes()};
    }
    return peak;
}

inline StackTotals referenceView(std::span<const format::Event> events, const Weigher& weigher, analysis::View view) {
    if (view == analysis::View::Peak) return liveAfter(events, weigher, referencePeak(events, weigher).eventCount);
    if (view == analysis::View::Leaks) return liveAfter(events, weigher, events.size());
    LiveSet live(weigher);
    StackTotals totals;
    for (const format::Event& event : events) {
        const analysis::LiveAllocation* released = live.apply(event);
        if (event.kind == format::EventKind::Free && released != nullptr &&
            live.allocationsSince(*released) <= analysis::kTemporaryWithin)
            addTo(totals, released->stack, released->allocator, weigher.bytes(released->size), weigher.count(released->size));
    }
    return totals;
}

inline StackTotals referenceAllocations(std::span<const format::Event> events, const Weigher& weigher) {
    StackTotals totals;
    for (const format::Event& event : events)
        if (event.kind == format::EventKind::Alloc)
            addTo(totals, event.stack, event.allocator, weigher.bytes(event.size), weigher.count(event.size));
    return totals;
}

// Traced bytes live at each sample (by seq), ordered by time.
inline std::vector<analysis::TimelinePoint> referenceTimeline(const format::Capture& capture,
                                                              std::span<const format::Event> events,
                                                              std::vector<format::Sample> samples) {
    Weigher weigher(capture.header);
    std::stable_sort(samples.begin(), samples.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
    LiveSet live(weigher);
    std::size_t next = 0;
    std::vector<analysis::TimelinePoint> points;
    for (const format::Sample& sample : samples) {
        for (; next < events.size() && events[next].seq < sample.seq; ++next) live.apply(events[next]);
        double seconds = static_cast<double>(sample.timeNs - capture.header.startTimeNs) / 1e9;
        points.push_back({seconds, sample.rssBytes, live.liveBytes()});
    }
    std::stable_sort(points.begin(), points.end(),
                     [](const auto& a, const auto& b) { return a.timeSeconds < b.timeSeconds; });
    return points;
}

// Live allocations per canonical stack before each checkpoint, made at or after the first.
inline std::vector<analysis::SiteGrowth> referenceGrowth(std::span<const format::Event> events,
                                                         const analysis::Symbols& symbols,
                                                         std::span<const std::uint64_t> checkpoints) {
    if (checkpoints.empty()) return {};
    format::Header fullMode;
    Weigher weigher(fullMode);
    LiveSet live(weigher);
    struct Live {
        std::uint64_t count = 0, bytes = 0;
    };
    format::FlatMap<Live> byStack;
    std::vector<format::FlatMap<Live>> snapshots;
    std::size_t next = 0;
    for (std::uint64_t checkpoint : checkpoints) {
        for (; next < events.size() && events[next].seq < checkpoint; ++next) {
            const format::Event& event = events[next];
            const analysis::LiveAllocation* released = live.apply(event);
            if (released != nullptr && released->seq >= checkpoints.front()) {
                Live* site = byStack.find(analysis::siteKey(symbols.canonicalStack(released->stack), released->allocator));
                --site->count;
                site->bytes -= released->size;
            }
            if (event.kind == format::EventKind::Alloc && event.seq >= checkpoints.front()) {
                Live* site = byStack.findOrInsert(analysis::siteKey(symbols.canonicalStack(event.stack), event.allocator));
                ++site->count;
                site->bytes += event.size;
            }
        }
        snapshots.push_back(byStack);
    }
    std::vector<analysis::SiteGrowth> growth;
    snapshots.back().forEach([&](std::uint64_t stack, const Live& last) {
        if (last.count == 0) return;
        analysis::SiteGrowth& site = growth.emplace_back();
        site.stack = analysis::stackOfSite(stack);
        site.allocator = analysis::allocatorOfSite(stack);
        for (const auto& snapshot : snapshots) {
            const Live* at = snapshot.find(stack);
            site.counts.push_back(at ? at->count : 0);
            site.bytes.push_back(at ? at->bytes : 0);
        }
    });
    std::sort(growth.begin(), growth.end(), [](const auto& a, const auto& b) {
        return a.stack != b.stack ? a.stack < b.stack : a.allocator < b.allocator;
    });
    return growth;
}

}  // namespace memhound::testing
