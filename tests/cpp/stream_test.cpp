// The streamed reading against the whole-capture oracle: random multi-threaded captures written
// by the real CaptureWriter (batches flushed out of seq order, definitions arriving after the
// events that use them, full and sampled mode, windows) must give the same figures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "capture_files.h"
#include "core/analysis/capture_analysis.h"
#include "core/common/error.h"
#include "core/common/hash.h"
#include "core/format/byte_source.h"
#include "core/format/capture_index.h"
#include "core/format/encoding.h"
#include "core/format/event_stream.h"
#include "reference_analysis.h"

namespace memhound {
namespace {

using analysis::CaptureAnalysis;
using analysis::GroupBy;
using analysis::View;
using common::CodeId;
using common::StackId;
using common::ThreadId;

struct RandomCapture {
    std::string bytes;
    format::Capture truth;  // what was written, events by seq
};

format::Event eventOf(const format::RawEvent& raw, ThreadId thread) {
    return {raw.seq, raw.address, raw.size, StackId(raw.stack), thread, raw.kind, raw.allocator};
}

// Events of a pymalloc-like program handed between `threads` threads in random turns; each
// thread flushes its buffer when it reaches a random size, so batches overlap in seq.
RandomCapture randomCapture(std::uint32_t seed, std::size_t events, unsigned threads, bool sampled) {
    std::mt19937 random(seed);
    RandomCapture out;
    out.truth.header = testing::sampleHeader();
    if (sampled) {
        out.truth.header.mode = format::Mode::Sampled;
        out.truth.header.sampleBytes = 512;
    }
    std::string definitions;
    format::CodeRecord code{CodeId(1), "a.py", "f", 3, std::string("\x80\x00\xd8\x04", 4)};
    format::encodeCode(definitions, code);
    out.truth.codes.push_back(code);
    for (std::uint32_t stack = 1; stack <= testing::SyntheticWorkload::kSites; ++stack) {
        format::StackNodeRecord node{StackId(stack), StackId(stack / 2), CodeId(1), static_cast<std::int32_t>(stack % 3)};
        format::encodeStackNode(definitions, node);
        out.truth.stacks.push_back(node);
    }
    std::vector<format::RawEvent> raw = testing::SyntheticWorkload(seed).events(events);
    std::uniform_int_distribution<unsigned> pickThread(0, threads - 1);
    std::uniform_int_distribution<std::size_t> turn(1, 400), capacity(1, 3000);
    std::vector<std::vector<format::RawEvent>> buffers(threads);
    std::vector<std::size_t> capacities(threads);
    for (std::size_t& each : capacities) each = capacity(random);
    std::size_t definitionsAfter = events / 3;  // the definitions come with a batch flushed later
    out.bytes = testing::writeCapture(out.truth.header, [&](format::CaptureWriter& writer) {
        auto flush = [&](unsigned thread) {
            bool withDefinitions = !definitions.empty() && out.truth.events.size() >= definitionsAfter;
            writer.writeBatch(ThreadId(thread), buffers[thread], withDefinitions ? definitions : "");
            if (withDefinitions) definitions.clear();
            buffers[thread].clear();
            capacities[thread] = capacity(random);
        };
        std::size_t at = 0;
        std::int64_t timeNs = out.truth.header.startTimeNs;
        while (at < raw.size()) {
            unsigned thread = pickThread(random);
            for (std::size_t n = turn(random); n > 0 && at < raw.size(); --n, ++at) {
                buffers[thread].push_back(raw[at]);
                out.truth.events.push_back(eventOf(raw[at], ThreadId(thread)));
                if (buffers[thread].size() == capacities[thread]) flush(thread);
            }
            timeNs += 20'000'000;
            format::Sample sample{timeNs, at + 1, 1000 * at};
            writer.writeSample(sample);
            out.truth.samples.push_back(sample);
        }
        for (unsigned thread = threads; thread-- > 0;) flush(thread);
        if (!definitions.empty()) writer.writeBatch(ThreadId(0), {}, definitions);
        format::Trailer trailer{raw.size(), timeNs + 1};
        writer.finish(trailer);
        out.truth.trailer = trailer;
    });
    out.truth.complete = true;
    return out;
}

std::vector<format::Event> inWindow(const std::vector<format::Event>& events, const format::SeqWindow& window) {
    std::vector<format::Event> kept;
    for (const format::Event& event : events)
        if (window.contains(event.seq)) kept.push_back(event);
    return kept;
}

void expectNear(double expected, double actual, bool exact, const std::string& what) {
    if (exact) {
        EXPECT_EQ(expected, actual) << what;
    } else {
        EXPECT_NEAR(expected, actual, 1e-9 * std::max(1.0, std::abs(expected))) << what;
    }
}

void expectSameTotals(const analysis::StackTotals& expected, const analysis::SiteSummary& actual,
                      const analysis::Symbols& symbols, analysis::SortBy sort, bool exact, const std::string& what) {
    analysis::SiteSummary want = analysis::groupSites(expected, symbols, GroupBy::Stack, sort, 0);
    ASSERT_EQ(want.rows.size(), actual.rows.size()) << what;
    // Rows sorted by bytes may swap on ties of nearly equal floats: compare by stack instead.
    auto byStack = [](const analysis::SiteRow& a, const analysis::SiteRow& b) { return a.stack < b.stack; };
    std::vector<analysis::SiteRow> a = want.rows, b = actual.rows;
    std::sort(a.begin(), a.end(), byStack);
    std::sort(b.begin(), b.end(), byStack);
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].stack, b[i].stack) << what;
        expectNear(a[i].amount.bytes, b[i].amount.bytes, exact, what + " bytes");
        expectNear(a[i].amount.count, b[i].amount.count, exact, what + " count");
    }
}

void compare(const RandomCapture& capture, const format::SeqWindow& window, std::mt19937& random) {
    const bool exact = capture.truth.header.mode == format::Mode::Full;
    analysis::Window asked{window.from, window.until, {}, {}};
    CaptureAnalysis streamed(format::memorySource(capture.bytes), asked);
    std::vector<format::Event> events = inWindow(capture.truth.events, window);
    analysis::Symbols symbols(capture.truth);
    analysis::Weigher weigher(capture.truth.header);
    for (View view : {View::Peak, View::Leaks, View::Temporary}) {
        SCOPED_TRACE(static_cast<int>(view));
        analysis::SortBy sort = view == View::Temporary ? analysis::SortBy::Count : analysis::SortBy::Bytes;
        expectSameTotals(testing::referenceView(events, weigher, view), streamed.sites(view, GroupBy::Stack, 0),
                         symbols, sort, exact, "view");
    }
    analysis::Stats stats = streamed.stats();
    EXPECT_EQ(stats.events, events.size());
    testing::ReferencePeak peak = testing::referencePeak(events, weigher);
    expectNear(peak.bytes, stats.peakBytes, exact, "peak");
    EXPECT_EQ(stats.peakSeq, peak.eventCount == 0 ? 0 : events[peak.eventCount - 1].seq);
    analysis::StackTotals allocations = testing::referenceAllocations(events, weigher);
    std::vector<analysis::SiteRow> top =
        analysis::groupSites(allocations, symbols, GroupBy::Line, analysis::SortBy::Count, analysis::kTopSites).rows;
    ASSERT_EQ(top.size(), stats.topSitesByCount.size());
    for (std::size_t i = 0; i < top.size(); ++i) expectNear(top[i].amount.count, stats.topSitesByCount[i].amount.count, exact, "top");

    std::vector<format::Sample> samples;
    for (const format::Sample& sample : capture.truth.samples)
        if (window.whole() || (sample.seq >= window.from && sample.seq <= window.until)) samples.push_back(sample);
    std::vector<analysis::TimelinePoint> timeline = testing::referenceTimeline(capture.truth, events, samples);
    ASSERT_EQ(timeline.size(), streamed.timeline().size());
    for (std::size_t i = 0; i < timeline.size(); ++i)
        expectNear(timeline[i].tracedBytes, streamed.timeline()[i].tracedBytes, exact, "timeline");

    std::vector<analysis::LiveAllocation> live = streamed.liveAllocations();
    testing::LiveSet reference(weigher);
    for (const format::Event& event : events) reference.apply(event);
    EXPECT_EQ(live.size(), reference.size());
    expectNear(reference.liveBytes(), streamed.liveBytes(), exact, "live bytes");

    std::vector<std::uint64_t> checkpoints;
    std::uniform_int_distribution<std::uint64_t> seq(1, capture.truth.events.size() + 1);
    for (int i = 0; i < 5; ++i) checkpoints.push_back(seq(random));
    std::sort(checkpoints.begin(), checkpoints.end());
    std::vector<analysis::SiteSummary> liveAt = streamed.liveAt(checkpoints, 0);
    ASSERT_EQ(liveAt.size(), checkpoints.size());
    for (std::size_t i = 0; i < checkpoints.size(); ++i) {
        auto before = std::lower_bound(events.begin(), events.end(), checkpoints[i],
                                       [](const format::Event& event, std::uint64_t at) { return event.seq < at; });
        expectSameTotals(testing::liveAfter(events, weigher, static_cast<std::size_t>(before - events.begin())),
                         liveAt[i], symbols, analysis::SortBy::Bytes, exact, "live at");
    }
    std::vector<analysis::SiteGrowth> expected = testing::referenceGrowth(events, symbols, checkpoints);
    std::vector<analysis::SiteGrowth> actual = streamed.growth(checkpoints);
    ASSERT_EQ(expected.size(), actual.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(expected[i].stack, actual[i].stack);
        EXPECT_EQ(expected[i].counts, actual[i].counts);
        EXPECT_EQ(expected[i].bytes, actual[i].bytes);
    }
}

TEST(StreamTest, WholeReadGivesEveryEventInSeqOrderWithItsThread) {
    RandomCapture capture = randomCapture(1, 40'000, 4, false);
    format::Capture read = format::readCaptureBytes(capture.bytes);
    ASSERT_EQ(read.events.size(), capture.truth.events.size());
    for (std::size_t i = 0; i < read.events.size(); ++i) {
        ASSERT_EQ(read.events[i].seq, capture.truth.events[i].seq);
        ASSERT_EQ(read.events[i].thread, capture.truth.events[i].thread);
        ASSERT_EQ(read.events[i].address, capture.truth.events[i].address);
    }
    EXPECT_EQ(read.stacks.size(), capture.truth.stacks.size());
}

TEST(StreamTest, StreamedFiguresEqualTheWholeCaptureOnes) {
    std::mt19937 random(7);
    for (std::uint32_t seed = 1; seed <= 12; ++seed) {
        SCOPED_TRACE(seed);
        RandomCapture capture = randomCapture(seed, 5'000 + seed * 3'000, 1 + seed % 5, seed % 3 == 0);
        compare(capture, format::SeqWindow{}, random);
        std::uniform_int_distribution<std::uint64_t> seq(1, capture.truth.events.size());
        std::uint64_t a = seq(random), b = seq(random);
        compare(capture, format::SeqWindow{std::min(a, b), std::max(a, b) + 1}, random);
    }
}

TEST(StreamTest, IndexReadsOnlyPrefixesAndCountsEvents) {
    RandomCapture capture = randomCapture(3, 20'000, 3, false);
    auto source = format::memorySource(capture.bytes);
    format::CaptureIndex index = format::indexCapture(*source);
    EXPECT_TRUE(index.complete);
    EXPECT_EQ(index.eventCount, capture.truth.events.size());
    for (const format::BatchEntry& batch : index.batches) {
        EXPECT_GT(batch.prefixSize, 0u);
        if (batch.count > 0) EXPECT_LE(batch.minSeq, batch.maxSeq);
    }
}

// A sink that counts, to see what a window reads.
class CountingSink final : public format::EventSink {
public:
    void consume(std::span<const format::Event> run) override {
        for (const format::Event& event : run) {
            EXPECT_GT(event.seq, last);
            last = event.seq;
            ++count;
        }
    }
    std::uint64_t last = 0, count = 0;
};

TEST(StreamTest, AWindowStillCollectsTheDefinitionsOfBatchesOutsideIt) {
    RandomCapture capture = randomCapture(5, 30'000, 2, false);
    auto source = format::memorySource(capture.bytes);
    format::CaptureIndex index = format::indexCapture(*source);
    CountingSink sink;
    format::Definitions definitions = format::playEvents(*source, index, format::SeqWindow{100, 200}, sink);
    EXPECT_EQ(sink.count, 100u);
    EXPECT_EQ(definitions.stacks.size(), capture.truth.stacks.size());
    EXPECT_EQ(definitions.codes.size(), 1u);
}

TEST(StreamTest, ACorruptBatchIsRejectedWithItsOffsetWhileStreaming) {
    RandomCapture capture = randomCapture(6, 30'000, 2, false);
    auto source = format::memorySource(capture.bytes);
    format::CaptureIndex index = format::indexCapture(*source);
    const format::BatchEntry& victim = index.batches[index.batches.size() / 2];
    std::string damaged = capture.bytes;
    damaged[victim.offset + 13 + victim.payloadSize / 2] ^= 0x55;
    try {
        CaptureAnalysis analysis(format::memorySource(damaged), analysis::Window{});
        FAIL() << "damage not noticed";
    } catch (const common::FormatError& error) {
        EXPECT_EQ(error.offset(), victim.offset);
    }
}

// The file header of `bytes` as version `version` (< 4) wrote it: without the native frames flag,
// and before version 3 without the native flag.
std::string headerOfVersion(const std::string& bytes, std::uint32_t version) {
    const std::size_t dropped = version < 3 ? 2 : 1;
    std::string fields = bytes.substr(20, format::detail::getU32(bytes.data() + 12) - dropped);
    std::string out = bytes.substr(0, 8);
    format::detail::putU32(out, version);
    format::detail::putU32(out, static_cast<std::uint32_t>(fields.size()));
    format::detail::putU32(out, common::checksum32(fields.data(), fields.size()));
    return out + fields;
}

TEST(StreamTest, AVersionTwoFileReadsTheSame) {
    RandomCapture capture = randomCapture(9, 5'000, 2, false);
    std::size_t headerEnd = 20 + format::detail::getU32(capture.bytes.data() + 12);
    std::string old = headerOfVersion(capture.bytes, 2) + capture.bytes.substr(headerEnd);
    format::Capture read = format::readCaptureBytes(old);
    EXPECT_EQ(read.header.version, 2u);
    EXPECT_FALSE(read.header.native);
    ASSERT_EQ(read.events.size(), capture.truth.events.size());
}

TEST(StreamTest, AVersionThreeFileReadsTheSame) {
    RandomCapture capture = randomCapture(10, 5'000, 2, false);
    std::size_t headerEnd = 20 + format::detail::getU32(capture.bytes.data() + 12);
    std::string old = headerOfVersion(capture.bytes, 3) + capture.bytes.substr(headerEnd);
    format::Capture read = format::readCaptureBytes(old);
    EXPECT_EQ(read.header.version, 3u);
    EXPECT_FALSE(read.header.nativeFrames);
    ASSERT_EQ(read.events.size(), capture.truth.events.size());
}

TEST(StreamTest, AVersionOneFileReadsTheSame) {
    // Version 1 had no batch prefix: rebuild the file without them and with version 1.
    RandomCapture capture = randomCapture(8, 20'000, 3, false);
    auto source = format::memorySource(capture.bytes);
    format::CaptureIndex index = format::indexCapture(*source);
    std::string old = headerOfVersion(capture.bytes, 1);
    std::size_t at = 20 + format::detail::getU32(capture.bytes.data() + 12);
    while (at < capture.bytes.size()) {
        format::detail::FrameHeader frame;
        ASSERT_TRUE(format::detail::parseFrameHeader(std::string_view(capture.bytes).substr(at), frame));
        std::string_view payload = std::string_view(capture.bytes).substr(at + 13, frame.payloadSize);
        if (frame.type == format::detail::FrameType::Batch)
            payload.remove_prefix(format::detail::decodeBatchPrefix(payload, at).size);
        format::detail::appendFrame(old, frame.type, payload);
        at += 13 + frame.payloadSize;
    }
    format::Capture read = format::readCaptureBytes(old);
    EXPECT_EQ(read.header.version, 1u);
    ASSERT_EQ(read.events.size(), capture.truth.events.size());
    for (std::size_t i = 0; i < read.events.size(); ++i) ASSERT_EQ(read.events[i].seq, capture.truth.events[i].seq);
}

}  // namespace
}  // namespace memhound
