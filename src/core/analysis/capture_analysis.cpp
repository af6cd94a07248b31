#include "core/analysis/capture_analysis.h"

#include <algorithm>

namespace memhound::analysis {
namespace {

constexpr std::uint64_t kEnd = ~std::uint64_t{0};

// The seq of the first sample taken at or after `seconds`; the end when there is none.
std::uint64_t seqAtTime(const std::vector<format::Sample>& samples, std::int64_t startNs, double seconds) {
    std::uint64_t seq = kEnd;
    std::int64_t atNs = startNs + static_cast<std::int64_t>(seconds * 1e9);
    std::int64_t bestNs = 0;
    for (const format::Sample& sample : samples) {
        if (sample.timeNs >= atNs && (seq == kEnd || sample.timeNs < bestNs)) {
            seq = sample.seq;
            bestNs = sample.timeNs;
        }
    }
    return seq;
}

format::SeqWindow resolve(const Window& window, const format::Header& header,
                          const std::vector<format::Sample>& samples) {
    format::SeqWindow seqs;
    if (window.fromSeq) seqs.from = *window.fromSeq;
    if (window.untilSeq) seqs.until = *window.untilSeq;
    if (window.fromSeconds)
        seqs.from = std::max(seqs.from, seqAtTime(samples, header.startTimeNs, *window.fromSeconds));
    if (window.untilSeconds)
        seqs.until = std::min(seqs.until, seqAtTime(samples, header.startTimeNs, *window.untilSeconds));
    return seqs;
}

std::vector<format::Sample> samplesIn(const std::vector<format::Sample>& samples, const format::SeqWindow& window) {
    if (window.whole()) return samples;
    std::vector<format::Sample> kept;
    for (const format::Sample& sample : samples)
        if (sample.seq >= window.from && sample.seq <= window.until) kept.push_back(sample);
    return kept;
}

void playInMemory(const std::vector<format::Event>& events, const format::SeqWindow& window, format::EventSink& sink) {
    auto bySeq = [](const format::Event& event, std::uint64_t seq) { return event.seq < seq; };
    auto begin = std::lower_bound(events.begin(), events.end(), window.from, bySeq);
    auto end = std::lower_bound(begin, events.end(), window.until, bySeq);
    if (begin != end) sink.consume(std::span<const format::Event>(&*begin, static_cast<std::size_t>(end - begin)));
}

}  // namespace

CaptureAnalysis::CaptureAnalysis(format::Capture capture)
    : m_fileEvents(capture.events.size()),
      m_capture(std::move(capture)),
      m_weigher(m_capture.header),
      m_symbols(m_capture) {
    summarise(nullptr);
}

CaptureAnalysis::CaptureAnalysis(std::unique_ptr<format::ByteSource> source, const Window& window,
                                 format::StreamProgress* progress)
    : m_source(std::move(source)),
      m_index(format::indexCapture(*m_source)),
      m_window(resolve(window, m_index.header, m_index.samples)),
      m_fileEvents(m_index.eventCount),
      m_weigher(m_index.header),
      m_symbols(m_capture) {
    m_capture.header = m_index.header;
    m_capture.samples = m_index.samples;
    m_capture.trailer = m_index.trailer;
    m_capture.complete = m_index.complete;
    m_capture.truncatedAt = m_index.truncatedAt;
    summarise(progress);
}

void CaptureAnalysis::summarise(format::StreamProgress* progress) {
    std::vector<format::Sample> samples = samplesIn(m_capture.samples, m_window);
    SummaryPass pass(m_weigher, samples, m_capture.header.startTimeNs);
    format::Definitions definitions;
    play(m_window, pass, progress, &definitions);
    if (m_source) {
        m_capture.codes = std::move(definitions.codes);
        m_capture.stacks = std::move(definitions.stacks);
        m_capture.threads = std::move(definitions.threads);
        m_capture.natives = std::move(definitions.natives);
        m_capture.mappings = std::move(definitions.mappings);
        m_symbols = Symbols(m_capture);
    }
    m_summary = pass.finish(m_capture.threads);
}

void CaptureAnalysis::play(const format::SeqWindow& window, format::EventSink& sink, format::StreamProgress* progress,
                           format::Definitions* definitions) const {
    if (!m_source) return playInMemory(m_capture.events, window, sink);
    format::Definitions found = format::playEvents(*m_source, m_index, window, sink, progress);
    if (definitions) *definitions = std::move(found);
}

const StackTotals& CaptureAnalysis::totals(View view) const {
    switch (view) {
        case View::Peak: return m_summary.peak;
        case View::Leaks: return m_summary.leaks;
        case View::Temporary: return m_summary.temporary;
        case View::Allocated: return m_summary.allocated;
    }
    return m_summary.peak;
}

SiteSummary CaptureAnalysis::sites(View view, GroupBy by, std::size_t limit) const {
    // Temporary allocations matter by how many are made; held memory by its bytes.
    SortBy sort = view == View::Temporary ? SortBy::Count : SortBy::Bytes;
    return groupSites(totals(view), m_symbols, by, sort, limit);
}

ProfileTable CaptureAnalysis::profile(std::span<const View> views) const {
    std::vector<const StackTotals*> chosen;
    for (View view : views) chosen.push_back(&totals(view));
    return profileTable(chosen, m_symbols);
}

std::optional<double> CaptureAnalysis::peakSeconds() const {
    const format::Sample *before = nullptr, *after = nullptr;
    for (const format::Sample& sample : m_capture.samples) {
        if (sample.seq <= m_summary.peakSeq && (!before || sample.seq > before->seq)) before = &sample;
        if (sample.seq > m_summary.peakSeq && (!after || sample.seq < after->seq)) after = &sample;
    }
    if (!before || !after || m_summary.peakSeq == 0) return std::nullopt;
    double share = static_cast<double>(m_summary.peakSeq - before->seq) / static_cast<double>(after->seq - before->seq);
    double ns = static_cast<double>(before->timeNs) + share * static_cast<double>(after->timeNs - before->timeNs);
    return (ns - static_cast<double>(m_capture.header.startTimeNs)) / 1e9;
}

Stats CaptureAnalysis::stats() const {
    Stats stats;
    stats.events = m_summary.events;
    stats.recordedAllocations = m_summary.recordedAllocations;
    stats.recordedFrees = m_summary.recordedFrees;
    stats.allocated = m_summary.allocatedTotal;
    stats.peakBytes = m_summary.peakBytes;
    stats.peakSeq = m_summary.peakSeq;
    stats.liveAtEnd = m_summary.liveAtEndTotal;
    stats.durationSeconds = captureDuration(m_capture.header, m_capture.trailer, m_capture.samples);
    stats.sizeHistogram = m_summary.sizeHistogram;
    stats.topSitesByCount = groupSites(m_summary.allocated, m_symbols, GroupBy::Line, SortBy::Count, kTopSites).rows;
    stats.threads = m_summary.eventThreads;
    return stats;
}

std::vector<LiveAllocation> CaptureAnalysis::liveAllocations() const {
    std::vector<LiveAllocation> out = m_summary.liveAtEnd;
    for (LiveAllocation& allocation : out) allocation.stack = m_symbols.canonicalStack(allocation.stack);
    return out;
}

std::vector<SiteGrowth> CaptureAnalysis::growth(std::span<const std::uint64_t> checkpoints) const {
    GrowthPass pass(m_symbols, checkpoints);
    if (checkpoints.empty()) return pass.finish();
    // Only allocations made from the first checkpoint on count, and nothing after the last one.
    format::SeqWindow window{std::max(m_window.from, checkpoints.front()), std::min(m_window.until, checkpoints.back())};
    if (window.from < window.until) play(window, pass, nullptr, nullptr);
    return pass.finish();
}

std::vector<SiteSummary> CaptureAnalysis::liveAt(std::span<const std::uint64_t> checkpoints, std::size_t limit) const {
    LiveAtPass pass(m_weigher, checkpoints);
    if (!checkpoints.empty()) {
        format::SeqWindow window{m_window.from, std::min(m_window.until, checkpoints.back())};
        if (window.from < window.until) play(window, pass, nullptr, nullptr);
    }
    std::vector<SiteSummary> summaries;
    for (const StackTotals& live : pass.finish())
        summaries.push_back(groupSites(live, m_symbols, GroupBy::Stack, SortBy::Bytes, limit, false));
    return summaries;
}

}  // namespace memhound::analysis
