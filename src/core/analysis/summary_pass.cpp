#include "core/analysis/summary_pass.h"

#include <algorithm>
#include <bit>

namespace memhound::analysis {
namespace {

void add(Amount& amount, double bytes, double count) {
    amount.bytes += bytes;
    amount.count += count;
}

std::vector<SizeBucket> usedBuckets(std::vector<SizeBucket> buckets) {
    std::vector<SizeBucket> used;
    for (std::size_t width = 0; width < buckets.size(); ++width) {
        if (buckets[width].amount.count == 0) continue;
        buckets[width].low = width == 0 ? 0 : std::uint64_t{1} << (width - 1);
        buckets[width].high = width == 64 ? ~std::uint64_t{0} : std::uint64_t{1} << width;
        used.push_back(buckets[width]);
    }
    return used;
}

}  // namespace

SummaryPass::SummaryPass(const Weigher& weigher, std::span<const format::Sample> samples, std::int64_t startTimeNs)
    : m_weigher(weigher), m_live(weigher), m_samples(samples.begin(), samples.end()), m_startTimeNs(startTimeNs) {
    std::stable_sort(m_samples.begin(), m_samples.end(),
                     [](const format::Sample& a, const format::Sample& b) { return a.seq < b.seq; });
}

void SummaryPass::consume(std::span<const format::Event> run) {
    m_summary.events += run.size();
    constexpr std::size_t kAhead = 16;  // events: enough to cover a miss to memory
    for (std::size_t i = 0; i < run.size(); ++i) {
        if (i + kAhead < run.size()) m_live.prefetch(run[i + kAhead].address);
        apply(run[i]);
    }
}

SummaryPass::StackTally& SummaryPass::tally(std::uint64_t site) { return *m_stacks.findOrInsert(site); }

void SummaryPass::noteChange(std::uint64_t site, StackTally& tally) {
    if (tally.changedSincePeak) return;
    tally.changedSincePeak = true;
    m_changed.push_back(site);
}

void SummaryPass::apply(const format::Event& event) {
    if (m_nextSample < m_samples.size() && m_samples[m_nextSample].seq <= event.seq) takeSamplesBefore(event.seq);
    if (!m_anyThread || event.thread.value != m_lastThread) {
        *m_threads.findOrInsert(event.thread.value) = true;
        m_lastThread = event.thread.value;
        m_anyThread = true;
    }
    const LiveAllocation* ended = m_live.apply(event);
    if (event.kind == format::EventKind::Free) {
        ++m_summary.recordedFrees;
        if (ended != nullptr) released(*ended, true);
    } else {
        ++m_summary.recordedAllocations;
        if (ended != nullptr) released(*ended, false);
        double bytes = m_weigher.bytes(event.size), count = m_weigher.count(event.size);
        add(m_summary.allocatedTotal, bytes, count);
        add(m_buckets[std::bit_width(event.size)].amount, bytes, count);  // sizes in [2^(w-1), 2^w)
        const std::uint64_t key = siteKey(event.stack, event.allocator);
        StackTally& site = tally(key);
        add(site.allocated, bytes, count);
        if (event.address != format::FlatMap<LiveAllocation>::kEmptyKey) {  // the live set cannot hold ~0
            add(site.live, bytes, count);
            ++site.liveCount;
            noteChange(key, site);
        }
    }
    if (m_live.liveBytes() > m_summary.peakBytes) newPeak(event);
}

void SummaryPass::released(const LiveAllocation& allocation, bool isFree) {
    double bytes = m_weigher.bytes(allocation.size), count = m_weigher.count(allocation.size);
    const std::uint64_t key = siteKey(allocation.stack, allocation.allocator);
    StackTally& site = tally(key);
    add(site.live, -bytes, -count);
    --site.liveCount;
    noteChange(key, site);
    if (isFree && m_live.allocationsSince(allocation) <= kTemporaryWithin) add(site.temporary, bytes, count);
}

void SummaryPass::newPeak(const format::Event& event) {
    m_summary.peakBytes = m_live.liveBytes();
    m_summary.peakSeq = event.seq;
    for (std::uint64_t key : m_changed) {
        StackTally& site = *m_stacks.find(key);
        site.atPeak = site.live;
        site.atPeakCount = site.liveCount;
        site.changedSincePeak = false;
    }
    m_changed.clear();
}

void SummaryPass::takeSamplesBefore(std::uint64_t seq) {
    for (; m_nextSample < m_samples.size() && m_samples[m_nextSample].seq <= seq; ++m_nextSample) {
        const format::Sample& sample = m_samples[m_nextSample];
        double seconds = static_cast<double>(sample.timeNs - m_startTimeNs) / 1e9;
        m_summary.timeline.push_back({seconds, sample.rssBytes, m_live.liveBytes(), sample.seq});
    }
}

CaptureSummary SummaryPass::finish(std::span<const format::ThreadRecord> namedThreads) {
    takeSamplesBefore(~std::uint64_t{0});
    std::stable_sort(m_summary.timeline.begin(), m_summary.timeline.end(),
                     [](const TimelinePoint& a, const TimelinePoint& b) { return a.timeSeconds < b.timeSeconds; });
    // Sized first: a capture can have a million sites, and growing four maps there rehashes often.
    std::size_t atPeak = 0, live = 0, temporary = 0, allocated = 0;
    m_stacks.forEach([&](std::uint64_t, const StackTally& site) {
        atPeak += site.atPeakCount > 0;
        live += site.liveCount > 0;
        temporary += site.temporary.count > 0;
        allocated += site.allocated.count > 0;
    });
    m_summary.peak.reserve(atPeak);
    m_summary.leaks.reserve(live);
    m_summary.temporary.reserve(temporary);
    m_summary.allocated.reserve(allocated);
    m_stacks.forEach([&](std::uint64_t key, const StackTally& site) {
        if (site.atPeakCount > 0) *m_summary.peak.findOrInsert(key) = site.atPeak;
        if (site.liveCount > 0) *m_summary.leaks.findOrInsert(key) = site.live;
        if (site.temporary.count > 0) *m_summary.temporary.findOrInsert(key) = site.temporary;
        if (site.allocated.count > 0) *m_summary.allocated.findOrInsert(key) = site.allocated;
    });
    m_summary.sizeHistogram = usedBuckets(std::move(m_buckets));
    for (const format::ThreadRecord& thread : namedThreads) *m_threads.findOrInsert(thread.id.value) = true;
    m_summary.eventThreads = m_threads.size();
    m_summary.liveAtEnd.reserve(m_live.size());
    m_live.forEach([&](const LiveAllocation& allocation) {
        m_summary.liveAtEnd.push_back(allocation);
        m_summary.liveAtEndTotal.count += m_weigher.count(allocation.size);
    });
    std::sort(m_summary.liveAtEnd.begin(), m_summary.liveAtEnd.end(),
              [](const LiveAllocation& a, const LiveAllocation& b) { return a.seq < b.seq; });
    m_summary.liveBytesAtEnd = m_live.liveBytes();
    m_summary.liveAtEndTotal.bytes = m_live.liveBytes();
    return std::move(m_summary);
}

}  // namespace memhound::analysis
