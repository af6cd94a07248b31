#pragma once
// One capture, read and ready to answer questions: what the bindings hold per Python Capture.
// A capture file is streamed: one pass at construction gathers every report's figures (the
// memory it keeps is the live set at the end and a few figures per stack); site growth, asked
// later with its checkpoints, streams the file again. Read-only after construction, so several
// threads may query it at once.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/analysis/growth.h"
#include "core/analysis/live_at.h"
#include "core/analysis/profile_table.h"
#include "core/analysis/replay.h"
#include "core/analysis/sites.h"
#include "core/analysis/stats.h"
#include "core/analysis/summary_pass.h"
#include "core/analysis/symbols.h"
#include "core/format/byte_source.h"
#include "core/format/capture_index.h"
#include "core/format/event_stream.h"
#include "core/format/reader.h"

namespace memhound::analysis {

// Which events a report covers: sequence numbers, or seconds since the capture started (known
// to the RSS sampling interval: a bound in time falls on the first sample at or after it).
struct Window {
    std::optional<std::uint64_t> fromSeq, untilSeq;
    std::optional<double> fromSeconds, untilSeconds;
};

class CaptureAnalysis {
public:
    // A capture already in memory with its events (tests).
    explicit CaptureAnalysis(format::Capture capture);
    // Streams `source`; throws common::FormatError on corrupt input.
    CaptureAnalysis(std::unique_ptr<format::ByteSource> source, const Window& window,
                    format::StreamProgress* progress = nullptr);
    CaptureAnalysis(const CaptureAnalysis&) = delete;  // m_symbols points into m_capture
    CaptureAnalysis& operator=(const CaptureAnalysis&) = delete;

    // Header, definitions, samples and completeness; `events` is empty for a streamed capture.
    const format::Capture& capture() const { return m_capture; }
    std::uint64_t eventCount() const { return m_summary.events; }  // within the window
    std::uint64_t fileEventCount() const { return m_fileEvents; }  // in the whole file
    const format::SeqWindow& window() const { return m_window; }

    SiteSummary sites(View view, GroupBy by, std::size_t limit) const;
    // Every stack of the views, with one amount per view (profile exports).
    ProfileTable profile(std::span<const View> views) const;
    Stats stats() const;
    const std::vector<TimelinePoint>& timeline() const { return m_summary.timeline; }
    double liveBytes() const { return m_summary.liveBytesAtEnd; }
    double peakBytes() const { return m_summary.peakBytes; }
    // Seconds from the start to the peak, between the RSS samples around it (by seq); none
    // without samples on both sides.
    std::optional<double> peakSeconds() const;
    std::vector<LiveAllocation> liveAllocations() const;  // by seq, with canonical stack ids
    std::vector<SiteGrowth> growth(std::span<const std::uint64_t> checkpoints) const;
    // The sites live just before each checkpoint seq (ascending) by whole stack, largest first,
    // `limit` rows each (0 = all); frames are left unresolved. Streams the file again.
    std::vector<SiteSummary> liveAt(std::span<const std::uint64_t> checkpoints, std::size_t limit) const;
    std::vector<Frame> stackFrames(common::StackId stack) const { return m_symbols.frames(stack); }
    std::vector<NativeFrame> nativeFrames(common::StackId stack) const { return m_symbols.nativeFrames(stack); }

private:
    const StackTotals& totals(View view) const;
    void play(const format::SeqWindow& window, format::EventSink& sink, format::StreamProgress* progress,
              format::Definitions* definitions) const;
    void summarise(format::StreamProgress* progress);

    std::unique_ptr<format::ByteSource> m_source;  // null for a capture in memory
    format::CaptureIndex m_index;
    format::SeqWindow m_window;
    std::uint64_t m_fileEvents = 0;
    format::Capture m_capture;
    Weigher m_weigher;
    CaptureSummary m_summary;
    Symbols m_symbols;
};

}  // namespace memhound::analysis
