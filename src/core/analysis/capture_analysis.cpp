#include "core/analysis/capture_analysis.h"

#include <algorithm>

namespace memhound::analysis {

CaptureAnalysis::CaptureAnalysis(format::Capture capture)
    : m_capture(std::move(capture)), m_weigher(m_capture.header), m_symbols(m_capture) {}

SiteSummary CaptureAnalysis::sites(View view, GroupBy by, std::size_t limit) const {
    // Temporary allocations matter by how many are made; held memory by its bytes.
    SortBy sort = view == View::Temporary ? SortBy::Count : SortBy::Bytes;
    return groupSites(viewTotals(m_capture, m_weigher, view), m_symbols, by, sort, limit);
}

Stats CaptureAnalysis::stats() const { return computeStats(m_capture, m_weigher, m_symbols); }

std::vector<TimelinePoint> CaptureAnalysis::timeline() const { return computeTimeline(m_capture, m_weigher); }

double CaptureAnalysis::liveBytes() const {
    LiveSet live(m_weigher);
    for (const format::Event& event : m_capture.events) live.apply(event);
    return live.liveBytes();
}

std::vector<LiveAllocation> CaptureAnalysis::liveAllocations() const {
    LiveSet live(m_weigher);
    for (const format::Event& event : m_capture.events) live.apply(event);
    std::vector<LiveAllocation> out;
    out.reserve(live.size());
    live.forEach([&](const LiveAllocation& allocation) {
        out.push_back(allocation);
        out.back().stack = m_symbols.canonicalStack(allocation.stack);
    });
    std::sort(out.begin(), out.end(),
              [](const LiveAllocation& a, const LiveAllocation& b) { return a.seq < b.seq; });
    return out;
}

std::vector<SiteGrowth> CaptureAnalysis::growth(std::span<const std::uint64_t> checkpoints) const {
    return siteGrowth(m_capture, m_symbols, checkpoints);
}

}  // namespace memhound::analysis
