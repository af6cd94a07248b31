#include "core/analysis/growth.h"

#include <algorithm>
#include <stdexcept>

#include "core/analysis/replay.h"
#include "core/format/flat_map.h"

namespace memhound::analysis {
namespace {

struct Live {
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;
};
using LiveByStack = format::FlatMap<Live>;

// Replays the events up to each checkpoint and keeps a copy of the per-stack counts there.
std::vector<LiveByStack> snapshotsAt(const format::Capture& capture, const Symbols& symbols,
                                     std::span<const std::uint64_t> checkpoints) {
    format::Header fullMode;  // growth counts recorded allocations: no sampling weights
    Weigher weigher(fullMode);
    LiveSet live(weigher);
    LiveByStack byStack;
    std::vector<LiveByStack> snapshots;
    std::size_t next = 0;
    for (std::uint64_t checkpoint : checkpoints) {
        for (; next < capture.events.size() && capture.events[next].seq < checkpoint; ++next) {
            const format::Event& event = capture.events[next];
            const LiveAllocation* released = live.apply(event);
            if (released != nullptr && released->seq >= checkpoints.front()) {
                Live* site = byStack.find(symbols.canonicalStack(released->stack).value);
                --site->count;
                site->bytes -= released->size;
            }
            if (event.kind == format::EventKind::Alloc && event.seq >= checkpoints.front()) {
                Live* site = byStack.findOrInsert(symbols.canonicalStack(event.stack).value);
                ++site->count;
                site->bytes += event.size;
            }
        }
        snapshots.push_back(byStack);
    }
    return snapshots;
}

}  // namespace

std::vector<SiteGrowth> siteGrowth(const format::Capture& capture, const Symbols& symbols,
                                   std::span<const std::uint64_t> checkpoints) {
    if (!std::is_sorted(checkpoints.begin(), checkpoints.end()))
        throw std::invalid_argument("checkpoints must be in ascending order");
    if (checkpoints.empty()) return {};
    std::vector<LiveByStack> snapshots = snapshotsAt(capture, symbols, checkpoints);
    std::vector<SiteGrowth> growth;
    snapshots.back().forEach([&](std::uint64_t stack, const Live& last) {
        if (last.count == 0) return;
        SiteGrowth& site = growth.emplace_back();
        site.stack = common::StackId(static_cast<std::uint32_t>(stack));
        for (const LiveByStack& snapshot : snapshots) {
            const Live* at = snapshot.find(stack);
            site.counts.push_back(at ? at->count : 0);
            site.bytes.push_back(at ? at->bytes : 0);
        }
    });
    std::sort(growth.begin(), growth.end(),
              [](const SiteGrowth& a, const SiteGrowth& b) { return a.stack < b.stack; });
    return growth;
}

}  // namespace memhound::analysis
