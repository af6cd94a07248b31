#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/analysis/capture_analysis.h"

namespace memhound::analysis {
namespace {

using common::CodeId;
using common::StackId;
using common::ThreadId;
using format::Capture;
using format::Event;
using format::EventKind;

// Builds a Capture in memory, events numbered in the order they are added.
class CaptureBuilder {
public:
    // A code object whose instruction at code unit i is on line firstLine + i.
    CaptureBuilder& code(std::uint32_t id, const std::string& file, const std::string& name,
                         std::int32_t firstLine) {
        std::string table("\xe8\x00", 2);                          // form 13, 1 unit, line delta 0
        for (int i = 1; i < 64; ++i) table.append("\xe8\x02", 2);  // form 13, 1 unit, line delta +1
        m_capture.codes.push_back({CodeId(id), file, name, firstLine, table});
        return *this;
    }
    CaptureBuilder& frame(std::uint32_t id, std::uint32_t parent, std::uint32_t code, std::int32_t unit) {
        m_capture.stacks.push_back({StackId(id), StackId(parent), CodeId(code), unit});
        return *this;
    }
    CaptureBuilder& alloc(std::uint64_t address, std::uint64_t size, std::uint32_t stack,
                          std::uint32_t thread = 0, common::Allocator allocator = common::Allocator::PyObject) {
        m_capture.events.push_back({++m_seq, address, size, StackId(stack), ThreadId(thread),
                                    EventKind::Alloc, allocator});
        return *this;
    }
    CaptureBuilder& free(std::uint64_t address, std::uint32_t thread = 0,
                         common::Allocator allocator = common::Allocator::PyObject) {
        m_capture.events.push_back({++m_seq, address, 0, StackId(0), ThreadId(thread), EventKind::Free,
                                    allocator});
        return *this;
    }
    CaptureBuilder& sample(double seconds, std::uint64_t rss) {
        m_capture.samples.push_back({static_cast<std::int64_t>(seconds * 1e9), m_seq + 1, rss});
        return *this;
    }
    CaptureBuilder& sampled(std::uint64_t meanInterval) {
        m_capture.header.mode = format::Mode::Sampled;
        m_capture.header.sampleBytes = meanInterval;
        return *this;
    }
    std::uint64_t nextSeq() const { return m_seq + 1; }
    Capture build(double seconds = 2.0) {
        auto byId = [](const auto& a, const auto& b) { return a.id < b.id; };
        std::sort(m_capture.codes.begin(), m_capture.codes.end(), byId);
        std::sort(m_capture.stacks.begin(), m_capture.stacks.end(), byId);
        m_capture.trailer = format::Trailer{m_seq, static_cast<std::int64_t>(seconds * 1e9)};
        m_capture.complete = true;
        return m_capture;
    }

private:
    Capture m_capture;
    std::uint64_t m_seq = 0;
};

// main() at app.py:10 calls load() at app.py:20 and parse() at lib.py:5; load also calls parse.
//   stack 1: main (line 12)          stack 2: main (12) -> load (line 23)
//   stack 3: main (12) -> load (23) -> parse (line 7)
//   stack 4: main (line 14)          stack 8: main (14) -> parse (line 7)
//   stack 5: main (12) -> load (line 25)
CaptureBuilder program() {
    CaptureBuilder builder;
    builder.code(1, "app.py", "main", 10).code(2, "app.py", "load", 20).code(3, "lib.py", "parse", 5);
    builder.frame(1, 0, 1, 2).frame(2, 1, 2, 3).frame(3, 2, 3, 2).frame(4, 0, 1, 4);
    builder.frame(5, 1, 2, 5).frame(8, 4, 3, 2);
    return builder;
}

TEST(AnalysisTest, StackFramesAreInnermostFirstWithLines) {
    CaptureBuilder builder = program();
    CaptureAnalysis analysis(builder.build());
    std::vector<Frame> frames = analysis.stackFrames(StackId(3));
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(frames[0], (Frame{"lib.py", "parse", 7}));
    EXPECT_EQ(frames[1], (Frame{"app.py", "load", 23}));
    EXPECT_EQ(frames[2], (Frame{"app.py", "main", 12}));
    EXPECT_TRUE(analysis.stackFrames(StackId(0)).empty());
}

TEST(AnalysisTest, PeakShowsWhatWasLiveWhenTracedBytesWereLargest) {
    CaptureBuilder builder = program();
    builder.alloc(0x100, 1000, 2).alloc(0x200, 3000, 3).free(0x200).alloc(0x300, 500, 4).free(0x100);
    builder.alloc(0x400, 2000, 2);
    CaptureAnalysis analysis(builder.build());
    std::vector<SiteRow> rows = analysis.sites(View::Peak, GroupBy::Line, 0).rows;
    ASSERT_EQ(rows.size(), 2u);  // at the peak (4000 bytes): 0x200 from parse, 0x100 from load
    EXPECT_EQ(rows[0].amount.bytes, 3000);
    EXPECT_EQ(rows[0].frames[0], (Frame{"lib.py", "parse", 7}));
    EXPECT_EQ(rows[1].amount.bytes, 1000);
    EXPECT_EQ(rows[1].frames[0].line, 23);
}

TEST(AnalysisTest, ALineKeepsItsNativeMemoryInRowsApartFromItsPythonMemory) {
    using common::Allocator;
    CaptureBuilder builder = program();
    builder.alloc(0x100, 100, 3, 0, Allocator::PyObject).alloc(0x200, 50, 3, 0, Allocator::PyMemRaw);
    builder.alloc(0x300, 80'000'000, 3, 0, Allocator::Tracked).alloc(0x400, 4096, 3, 0, Allocator::Malloc);
    builder.alloc(0x500, 1 << 20, 3, 0, Allocator::Mmap);
    // A block that malloc returned and numpy then reported: the later record replaces the first.
    builder.alloc(0x600, 1000, 8, 0, Allocator::Malloc).alloc(0x600, 1000, 8, 0, Allocator::Tracked);
    CaptureAnalysis analysis(builder.build());
    std::vector<SiteRow> rows = analysis.sites(View::Leaks, GroupBy::Line, 0).rows;
    ASSERT_EQ(rows.size(), 4u);  // parse: tracked, mmap, malloc, PyMem (both domains); nothing from 0x600's malloc
    EXPECT_EQ(rows[0].allocator, Allocator::Tracked);
    EXPECT_EQ(rows[0].amount.bytes, 80'000'000 + 1000);  // line 7 of parse from both stacks
    EXPECT_EQ(rows[1].allocator, Allocator::Mmap);
    EXPECT_EQ(rows[2].allocator, Allocator::Malloc);
    EXPECT_EQ(rows[2].amount.bytes, 4096);
    EXPECT_EQ(rows[3].allocator, Allocator::PyObject);
    EXPECT_EQ(rows[3].amount.bytes, 150);
    EXPECT_EQ(rows[3].amount.count, 2);
    EXPECT_EQ(analysis.stats().peakBytes, 100 + 50 + 80'000'000 + 4096 + (1 << 20) + 1000);
}

TEST(AnalysisTest, GrowthKeepsNativeMemoryApart) {
    using common::Allocator;
    CaptureBuilder builder = program();
    std::vector<std::uint64_t> checkpoints{builder.nextSeq()};
    for (std::uint64_t i = 0; i < 3; ++i) {
        builder.alloc(0x1000 + i * 16, 64, 3).alloc(0x9000 + i * 65536, 65536, 3, 0, Allocator::Malloc);
        checkpoints.push_back(builder.nextSeq());
    }
    CaptureAnalysis analysis(builder.build());
    std::vector<analysis::SiteGrowth> growth = analysis.growth(checkpoints);
    ASSERT_EQ(growth.size(), 2u);
    EXPECT_EQ(growth[0].allocator, Allocator::PyObject);
    EXPECT_EQ(growth[1].allocator, Allocator::Malloc);
    EXPECT_EQ(growth[1].bytes, (std::vector<std::uint64_t>{0, 65536, 131072, 196608}));
}

TEST(AnalysisTest, LeaksAreTheAllocationsLiveAtTheEnd) {
    CaptureBuilder builder = program();
    builder.alloc(0x100, 1000, 2).alloc(0x200, 3000, 3).free(0x200).alloc(0x300, 500, 8).alloc(0x400, 200, 8);
    CaptureAnalysis analysis(builder.build());
    std::vector<SiteRow> rows = analysis.sites(View::Leaks, GroupBy::Line, 0).rows;
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].amount.bytes, 1000);
    EXPECT_EQ(rows[1].amount.bytes, 700);
    EXPECT_EQ(rows[1].amount.count, 2);
    EXPECT_EQ(rows[1].frames.size(), 2u);  // parse <- main
    EXPECT_EQ(analysis.liveBytes(), 1700);
}

TEST(AnalysisTest, GroupingByLineMergesCallersAndByStackKeepsThemApart) {
    CaptureBuilder builder = program();
    builder.alloc(0x100, 100, 3).alloc(0x200, 50, 8);  // parse line 7, from load and from main
    CaptureAnalysis analysis(builder.build());
    std::vector<SiteRow> byLine = analysis.sites(View::Leaks, GroupBy::Line, 0).rows;
    ASSERT_EQ(byLine.size(), 1u);
    EXPECT_EQ(byLine[0].amount.bytes, 150);
    EXPECT_EQ(byLine[0].stack, StackId(3));  // shown with its heaviest stack
    std::vector<SiteRow> byStack = analysis.sites(View::Leaks, GroupBy::Stack, 0).rows;
    ASSERT_EQ(byStack.size(), 2u);
    EXPECT_EQ(byStack[1].frames.size(), 2u);
}

TEST(AnalysisTest, GroupingByFunctionMergesLines) {
    CaptureBuilder builder = program();
    builder.alloc(0x100, 100, 2).alloc(0x200, 50, 5).alloc(0x300, 10, 1);  // load:23, load:25, main:12
    CaptureAnalysis analysis(builder.build());
    std::vector<SiteRow> rows = analysis.sites(View::Leaks, GroupBy::Function, 0).rows;
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].amount.bytes, 150);
    EXPECT_EQ(rows[0].frames[0].function, "load");
    EXPECT_EQ(analysis.sites(View::Leaks, GroupBy::Line, 0).rows.size(), 3u);
}

TEST(AnalysisTest, StacksOnTheSameLinesAreOneGroup) {
    CaptureBuilder builder = program();
    builder.frame(6, 1, 2, 3);  // same lines as stack 2, another node (other instruction offset)
    builder.alloc(0x100, 100, 2).alloc(0x200, 50, 6);
    CaptureAnalysis analysis(builder.build());
    EXPECT_EQ(analysis.sites(View::Leaks, GroupBy::Stack, 0).rows.size(), 1u);
}

TEST(AnalysisTest, OneFunctionRecordedUnderTwoCodeIdsIsOneGroup) {
    CaptureBuilder builder = program();
    builder.code(9, "app.py", "load", 20).frame(9, 4, 9, 3);  // load again, as another thread saw it
    builder.alloc(0x100, 100, 2).alloc(0x200, 50, 9, 1);
    CaptureAnalysis analysis(builder.build());
    std::vector<SiteRow> byFunction = analysis.sites(View::Leaks, GroupBy::Function, 0).rows;
    ASSERT_EQ(byFunction.size(), 1u);
    EXPECT_EQ(byFunction[0].amount.bytes, 150);
    EXPECT_EQ(analysis.sites(View::Leaks, GroupBy::Line, 0).rows.size(), 1u);
    EXPECT_EQ(analysis.sites(View::Leaks, GroupBy::Stack, 0).rows.size(), 2u);  // callers differ
}

TEST(AnalysisTest, LimitKeepsTheLargestRows) {
    CaptureBuilder builder = program();
    builder.alloc(0x100, 1, 1).alloc(0x200, 2, 2).alloc(0x300, 3, 3).alloc(0x400, 4, 5);
    CaptureAnalysis analysis(builder.build());
    SiteSummary summary = analysis.sites(View::Leaks, GroupBy::Line, 2);
    ASSERT_EQ(summary.rows.size(), 2u);
    EXPECT_EQ(summary.rows[0].amount.bytes, 4);
    EXPECT_EQ(summary.rows[1].amount.bytes, 3);
    EXPECT_EQ(summary.siteCount, 4u);  // the totals cover the rows left out too
    EXPECT_EQ(summary.total.bytes, 10);
    EXPECT_EQ(summary.total.count, 4);
}

TEST(AnalysisTest, TemporaryAllocationsAreFreedWithinAFewAllocationsOfTheirThread) {
    CaptureBuilder builder = program();
    builder.alloc(0x100, 64, 3).free(0x100);  // freed at once: temporary
    builder.alloc(0x200, 64, 2);
    for (std::uint64_t i = 0; i <= kTemporaryWithin; ++i) builder.alloc(0x1000 + 16 * i, 8, 1);
    builder.free(0x200);  // too late: not temporary
    // Another thread's allocations in between do not count against thread 0.
    builder.alloc(0x300, 32, 8);
    for (int i = 0; i < 10; ++i) builder.alloc(0x2000 + 16 * i, 8, 1, 1);
    builder.free(0x300);
    CaptureAnalysis analysis(builder.build());
    std::vector<SiteRow> rows = analysis.sites(View::Temporary, GroupBy::Line, 0).rows;
    ASSERT_EQ(rows.size(), 1u);  // both made on parse's line 7, from two callers
    EXPECT_EQ(rows[0].amount.count, 2);
    EXPECT_EQ(rows[0].amount.bytes, 96);
    EXPECT_EQ(rows[0].frames[0].line, 7);
    EXPECT_EQ(analysis.sites(View::Temporary, GroupBy::Stack, 0).rows.size(), 2u);
}

TEST(AnalysisTest, UntracedFreesAreIgnoredAndReusedAddressesReplace) {
    CaptureBuilder builder = program();
    builder.free(0x999).alloc(0x100, 10, 1).alloc(0x100, 30, 2);  // the first free was never traced
    CaptureAnalysis analysis(builder.build());
    EXPECT_EQ(analysis.liveBytes(), 30);
    std::vector<LiveAllocation> live = analysis.liveAllocations();
    ASSERT_EQ(live.size(), 1u);
    EXPECT_EQ(live[0].size, 30u);
    EXPECT_EQ(live[0].stack, StackId(2));
}

TEST(AnalysisTest, LiveAllocationsAreListedBySeq) {
    CaptureBuilder builder = program();
    builder.alloc(0x300, 3, 1).alloc(0x100, 1, 2).alloc(0x200, 2, 3).free(0x100);
    CaptureAnalysis analysis(builder.build());
    std::vector<LiveAllocation> live = analysis.liveAllocations();
    ASSERT_EQ(live.size(), 2u);
    EXPECT_EQ(live[0].address, 0x300u);
    EXPECT_EQ(live[0].seq, 1u);
    EXPECT_EQ(live[1].address, 0x200u);
    EXPECT_EQ(live[1].seq, 3u);
}

TEST(AnalysisTest, SampledAllocationsStandForTheirExpectedBytes) {
    CaptureBuilder builder = program();
    builder.sampled(1000).alloc(0x100, 100, 2).alloc(0x200, 100000, 3);
    CaptureAnalysis analysis(builder.build());
    std::vector<SiteRow> rows = analysis.sites(View::Leaks, GroupBy::Line, 0).rows;
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_NEAR(rows[0].amount.bytes, 100000, 1e-6);  // large: recorded with probability ~1
    EXPECT_NEAR(rows[1].amount.bytes, 100 / (1 - std::exp(-0.1)), 1e-6);  // about 1050 bytes
    EXPECT_NEAR(rows[1].amount.count, 1 / (1 - std::exp(-0.1)), 1e-9);
}

TEST(AnalysisTest, StatsSummariseTheCapture) {
    CaptureBuilder builder = program();
    builder.alloc(0x100, 10, 2).alloc(0x200, 20, 2).alloc(0x300, 1000, 3).free(0x300).free(0x100);
    builder.alloc(0x400, 3, 4, 1);
    Stats stats = CaptureAnalysis(builder.build(4.0)).stats();
    EXPECT_EQ(stats.recordedAllocations, 4u);
    EXPECT_EQ(stats.recordedFrees, 2u);
    EXPECT_EQ(stats.allocated.bytes, 1033);
    EXPECT_EQ(stats.peakBytes, 1030);
    EXPECT_EQ(stats.peakSeq, 3u);
    EXPECT_EQ(stats.liveAtEnd.bytes, 23);
    EXPECT_EQ(stats.liveAtEnd.count, 2);
    EXPECT_DOUBLE_EQ(stats.durationSeconds, 4.0);
    EXPECT_EQ(stats.threads, 2u);
    ASSERT_EQ(stats.topSitesByCount.size(), 3u);
    EXPECT_EQ(stats.topSitesByCount[0].amount.count, 2);
    EXPECT_EQ(stats.topSitesByCount[0].frames[0].line, 23);
    // 3 -> [2, 4), 10 -> [8, 16), 20 -> [16, 32), 1000 -> [512, 1024)
    ASSERT_EQ(stats.sizeHistogram.size(), 4u);
    EXPECT_EQ(stats.sizeHistogram[0].low, 2u);
    EXPECT_EQ(stats.sizeHistogram[0].high, 4u);
    EXPECT_EQ(stats.sizeHistogram[3].low, 512u);
    EXPECT_EQ(stats.sizeHistogram[3].amount.bytes, 1000);
}

TEST(AnalysisTest, TimelinePairsEachSampleWithTracedBytes) {
    CaptureBuilder builder = program();
    builder.sample(0.5, 1 << 20).alloc(0x100, 100, 1).alloc(0x200, 50, 1).sample(1.0, 2 << 20).free(0x100);
    builder.sample(1.5, 3 << 20);
    std::vector<TimelinePoint> points = CaptureAnalysis(builder.build()).timeline();
    ASSERT_EQ(points.size(), 3u);
    EXPECT_DOUBLE_EQ(points[0].timeSeconds, 0.5);
    EXPECT_EQ(points[0].tracedBytes, 0);
    EXPECT_EQ(points[1].tracedBytes, 150);
    EXPECT_EQ(points[1].rssBytes, 2u << 20);
    EXPECT_EQ(points[2].tracedBytes, 50);
}

TEST(AnalysisTest, SiteGrowthCountsLiveAllocationsAfterTheFirstCheckpoint) {
    CaptureBuilder builder = program();
    builder.alloc(0x10, 5, 1);  // before the first checkpoint: not counted
    std::vector<std::uint64_t> checkpoints = {builder.nextSeq()};
    for (int iteration = 0; iteration < 3; ++iteration) {
        std::uint64_t base = 0x1000 * (iteration + 1);
        builder.alloc(base, 100, 3).alloc(base + 0x100, 8, 2).free(base + 0x100);  // 3 grows, 2 does not
        checkpoints.push_back(builder.nextSeq());
    }
    builder.alloc(0x9000, 7, 5).free(0x9000);
    CaptureAnalysis analysis(builder.build());
    std::vector<SiteGrowth> growth = analysis.growth(checkpoints);
    ASSERT_EQ(growth.size(), 1u);
    EXPECT_EQ(growth[0].stack, StackId(3));
    EXPECT_EQ(growth[0].counts, (std::vector<std::uint64_t>{0, 1, 2, 3}));
    EXPECT_EQ(growth[0].bytes, (std::vector<std::uint64_t>{0, 100, 200, 300}));
    std::vector<std::uint64_t> descending = {5, 2};
    EXPECT_THROW(analysis.growth(descending), std::invalid_argument);
}

TEST(AnalysisTest, LiveAtShowsEverySiteLiveBeforeEachCheckpoint) {
    CaptureBuilder builder = program();
    builder.alloc(0x100, 1000, 2).alloc(0x200, 3000, 3);
    std::uint64_t afterTwo = builder.nextSeq();
    builder.free(0x200).alloc(0x300, 500, 4).free(0x100);
    std::uint64_t afterFrees = builder.nextSeq();
    builder.alloc(0x400, 2000, 2).alloc(0x500, 10, 5).free(0x500);
    std::uint64_t end = builder.nextSeq();
    CaptureAnalysis analysis(builder.build());
    std::vector<std::uint64_t> checkpoints = {1, afterTwo, afterFrees, end};
    std::vector<SiteSummary> live = analysis.liveAt(checkpoints, 0);
    ASSERT_EQ(live.size(), 4u);
    EXPECT_TRUE(live[0].rows.empty());
    ASSERT_EQ(live[1].rows.size(), 2u);  // largest first, frames left to the caller
    EXPECT_EQ(live[1].rows[0].stack, StackId(3));
    EXPECT_EQ(live[1].rows[0].amount.bytes, 3000);
    EXPECT_TRUE(live[1].rows[0].frames.empty());
    EXPECT_EQ(live[1].total.bytes, 4000);
    ASSERT_EQ(live[2].rows.size(), 1u);  // a site whose allocations all ended is gone
    EXPECT_EQ(live[2].rows[0].stack, StackId(4));
    ASSERT_EQ(live[3].rows.size(), 2u);
    EXPECT_EQ(live[3].rows[0].stack, StackId(2));
    EXPECT_EQ(live[3].total.bytes, 2500);
    EXPECT_EQ(live[3].total.count, 2);
    EXPECT_EQ(analysis.liveAt(checkpoints, 1)[3].rows.size(), 1u);
    EXPECT_EQ(analysis.liveAt(checkpoints, 1)[3].siteCount, 2u);
    std::vector<std::uint64_t> descending = {5, 2};
    EXPECT_THROW(analysis.liveAt(descending, 0), std::invalid_argument);
}

TEST(AnalysisTest, LiveAtTheLastSampleIsTheTimelinesTracedBytes) {
    CaptureBuilder builder = program();
    builder.alloc(0x100, 100, 1).sample(0.5, 1 << 20).alloc(0x200, 50, 3).free(0x100).sample(1.0, 1 << 20);
    CaptureAnalysis analysis(builder.build());
    std::vector<std::uint64_t> checkpoints;
    for (const TimelinePoint& point : analysis.timeline()) checkpoints.push_back(point.seq);
    std::vector<SiteSummary> live = analysis.liveAt(checkpoints, 0);
    ASSERT_EQ(live.size(), 2u);
    for (std::size_t i = 0; i < live.size(); ++i)
        EXPECT_EQ(live[i].total.bytes, analysis.timeline()[i].tracedBytes);
    EXPECT_EQ(live[1].rows[0].stack, StackId(3));
}

TEST(AnalysisTest, SiteGrowthMergesStacksOfCodeCompiledAgainOnTheSameLines) {
    CaptureBuilder builder = program();
    std::vector<std::uint64_t> checkpoints = {builder.nextSeq()};
    for (std::uint32_t iteration = 0; iteration < 3; ++iteration) {
        std::uint32_t code = 20 + iteration, stack = 20 + iteration;  // exec of the same source again
        builder.code(code, "<doctest>", "<module>", 1).frame(stack, 1, code, 0);
        builder.alloc(0x1000 * (iteration + 1), 100, stack);
        checkpoints.push_back(builder.nextSeq());
    }
    CaptureAnalysis analysis(builder.build());
    std::vector<SiteGrowth> growth = analysis.growth(checkpoints);
    ASSERT_EQ(growth.size(), 1u);
    EXPECT_EQ(growth[0].stack, StackId(20));
    EXPECT_EQ(growth[0].counts, (std::vector<std::uint64_t>{0, 1, 2, 3}));
    std::vector<LiveAllocation> live = analysis.liveAllocations();
    ASSERT_EQ(live.size(), 3u);
    EXPECT_TRUE(std::all_of(live.begin(), live.end(), [](const LiveAllocation& a) { return a.stack == StackId(20); }));
}

TEST(AnalysisTest, UnknownStackResolvesToAnUnknownFrame) {
    CaptureBuilder builder = program();
    builder.frame(7, 99, 42, 0);  // parent and code lost with the end of a truncated capture
    CaptureAnalysis analysis(builder.build());
    std::vector<Frame> frames = analysis.stackFrames(StackId(7));
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].function, "<unknown>");
    EXPECT_EQ(frames[1].function, "<unknown>");
    EXPECT_EQ(analysis.stackFrames(StackId(12345)).size(), 1u);
}

TEST(AnalysisTest, ParentCycleFromABrokenWriterEndsTheStack) {
    CaptureBuilder builder = program();
    builder.frame(10, 11, 1, 0).frame(11, 10, 2, 0);
    builder.alloc(0x100, 8, 10);
    CaptureAnalysis analysis(builder.build());
    EXPECT_LE(analysis.stackFrames(StackId(10)).size(), 9u);  // at most one pass over the 8 nodes
    EXPECT_EQ(analysis.sites(View::Leaks, GroupBy::Stack, 0).rows.size(), 1u);
}

TEST(AnalysisTest, EmptyCaptureHasNothingToReport) {
    CaptureBuilder builder;
    CaptureAnalysis analysis(builder.build());
    EXPECT_TRUE(analysis.sites(View::Peak, GroupBy::Line, 10).rows.empty());
    EXPECT_EQ(analysis.stats().peakBytes, 0);
    EXPECT_TRUE(analysis.growth(std::vector<std::uint64_t>{}).empty());
}

}  // namespace
}  // namespace memhound::analysis
