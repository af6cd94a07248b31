#pragma once
// One capture, read and ready to answer questions: what the bindings hold per Python Capture.
// Read-only after construction, so several threads may query it at once.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/analysis/growth.h"
#include "core/analysis/replay.h"
#include "core/analysis/sites.h"
#include "core/analysis/stats.h"
#include "core/analysis/symbols.h"
#include "core/format/reader.h"

namespace memhound::analysis {

class CaptureAnalysis {
public:
    explicit CaptureAnalysis(format::Capture capture);
    CaptureAnalysis(const CaptureAnalysis&) = delete;  // m_symbols points into m_capture
    CaptureAnalysis& operator=(const CaptureAnalysis&) = delete;

    const format::Capture& capture() const { return m_capture; }

    SiteSummary sites(View view, GroupBy by, std::size_t limit) const;
    Stats stats() const;
    std::vector<TimelinePoint> timeline() const;
    double liveBytes() const;
    std::vector<LiveAllocation> liveAllocations() const;  // by seq, with canonical stack ids
    std::vector<SiteGrowth> growth(std::span<const std::uint64_t> checkpoints) const;
    std::vector<Frame> stackFrames(common::StackId stack) const { return m_symbols.frames(stack); }

private:
    format::Capture m_capture;
    Weigher m_weigher;
    Symbols m_symbols;
};

}  // namespace memhound::analysis
