#include "core/format/format.h"
#include "core/format/byte_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "capture_files.h"
#include "core/common/error.h"
#include "core/format/encoding.h"

namespace memhound::format {
namespace {

using common::Allocator;
using common::CodeId;
using common::StackId;
using common::ThreadId;
using testing::rawAlloc;
using testing::rawFree;
using testing::sampleHeader;
using testing::writeCapture;

std::string definitionsForTwoFrames() {
    std::string defs;
    encodeCode(defs, {CodeId(1), "app.py", "main", 1, std::string("\x80\x00\xd8\x04", 4)});
    encodeCode(defs, {CodeId(2), "lib/util.py", "Helper.build", 10, std::string("\x80\x00", 2)});
    encodeStackNode(defs, {StackId(1), StackId(0), CodeId(1), -1});
    encodeStackNode(defs, {StackId(2), StackId(1), CodeId(2), 17});
    encodeThread(defs, {ThreadId(0), 777, "MainThread"});
    return defs;
}

// Three batch frames, a sample and a trailer: the small file that the truncation tests cut.
std::string smallCapture() {
    return writeCapture(sampleHeader(), [](CaptureWriter& writer) {
        std::vector<RawEvent> first = {rawAlloc(1, 0x7f0000001010, 64, 2),
                                       rawAlloc(2, 0x7f0000001050, 32, 1)};
        writer.writeBatch(ThreadId(0), first, definitionsForTwoFrames());
        writer.writeSample({1000, 3, 1 << 20});
        std::vector<RawEvent> second = {rawFree(3, 0x7f0000001010), rawAlloc(4, 0x7f0000001010, 48, 2)};
        writer.writeBatch(ThreadId(0), second, {});
        std::vector<RawEvent> third = {rawFree(5, 0x7f0000001050)};
        writer.writeBatch(ThreadId(0), third, {});
        writer.finish({5, 2000});
    });
}

TEST(FormatTest, RoundTripKeepsEveryField) {
    std::string defs = definitionsForTwoFrames();
    std::string workerDefs;
    encodeThread(workerDefs, {ThreadId(1), 778, "worker"});
    std::vector<RawEvent> mainEvents = {
        rawAlloc(1, 0x7f0000001010, 64, 2),
        rawAlloc(4, 0x10007, (1ull << 40) + 3, 1, Allocator::Mmap),  // unaligned address, huge size
        rawFree(6, 0x7f0000001010),
        rawAlloc(7, 0x7f0000100000, 80'000'000, 2, Allocator::Tracked),
    };
    std::vector<RawEvent> workerEvents = {rawAlloc(2, 0x5500000000a0, 24, 0, Allocator::PyMemRaw),
                                          rawAlloc(3, 0x550000000010, 8, 2, Allocator::PyMem),
                                          rawFree(5, 0x5500000000a0, Allocator::PyMemRaw)};
    Header header = sampleHeader();
    header.mode = Mode::Sampled;
    header.sampleBytes = 4096;
    header.native = true;
    std::string bytes = writeCapture(header, [&](CaptureWriter& writer) {
        writer.writeBatch(ThreadId(0), mainEvents, defs);
        writer.writeBatch(ThreadId(1), workerEvents, workerDefs);
        writer.writeSample({-5, 6, 123456789});
        writer.finish({7, 99});
        EXPECT_FALSE(writer.failed()) << writer.error();
    });

    Capture capture = readCaptureBytes(bytes);
    EXPECT_EQ(capture.header.pythonVersion, "3.11.7");
    EXPECT_EQ(capture.header.pid, 4242);
    EXPECT_EQ(capture.header.argv, header.argv);
    EXPECT_EQ(capture.header.startTimeNs, header.startTimeNs);
    EXPECT_EQ(capture.header.mode, Mode::Sampled);
    EXPECT_EQ(capture.header.sampleBytes, 4096u);
    EXPECT_TRUE(capture.header.native);
    ASSERT_EQ(capture.codes.size(), 2u);
    EXPECT_EQ(capture.codes[1].name, "Helper.build");
    EXPECT_EQ(capture.codes[0].lineTable, std::string("\x80\x00\xd8\x04", 4));
    ASSERT_EQ(capture.stacks.size(), 2u);
    EXPECT_EQ(capture.stacks[0].instrOffset, -1);
    EXPECT_EQ(capture.stacks[1].parent, StackId(1));
    ASSERT_EQ(capture.threads.size(), 2u);
    EXPECT_EQ(capture.threads[1].name, "worker");
    EXPECT_EQ(capture.threads[1].nativeId, 778u);

    ASSERT_EQ(capture.events.size(), 7u);
    EXPECT_EQ(capture.events[6].allocator, Allocator::Tracked);
    EXPECT_EQ(capture.events[6].size, 80'000'000u);
    for (std::size_t i = 0; i < capture.events.size(); ++i) EXPECT_EQ(capture.events[i].seq, i + 1);
    const Event& huge = capture.events[3];
    EXPECT_EQ(huge.address, 0x10007u);
    EXPECT_EQ(huge.size, (1ull << 40) + 3);
    EXPECT_EQ(huge.allocator, Allocator::Mmap);
    EXPECT_EQ(huge.thread, ThreadId(0));
    const Event& workerFree = capture.events[4];
    EXPECT_EQ(workerFree.kind, EventKind::Free);
    EXPECT_EQ(workerFree.address, 0x5500000000a0u);
    EXPECT_EQ(workerFree.thread, ThreadId(1));
    EXPECT_EQ(workerFree.allocator, Allocator::PyMemRaw);
    EXPECT_EQ(capture.events[2].stack, StackId(2));

    ASSERT_EQ(capture.samples.size(), 1u);
    EXPECT_EQ(capture.samples[0].timeNs, -5);
    EXPECT_EQ(capture.samples[0].rssBytes, 123456789u);
    ASSERT_TRUE(capture.trailer.has_value());
    EXPECT_EQ(capture.trailer->endTimeNs, 99);
    EXPECT_TRUE(capture.complete);
    EXPECT_FALSE(capture.truncatedAt.has_value());
}

TEST(FormatTest, BytesWrittenIsTheFileSize) {
    testing::TempFile file;
    std::uint64_t written = 0;
    {
        CaptureWriter writer(file.releaseFd(), sampleHeader());
        std::vector<RawEvent> events = {rawAlloc(1, 0x1000, 10, 0)};
        writer.writeBatch(ThreadId(0), events, {});
        writer.finish({1, 0});
        written = writer.bytesWritten();
    }
    EXPECT_EQ(written, file.bytes().size());
}

TEST(FormatTest, DefinitionMayFollowItsFirstUseFromAnotherThread) {
    std::string bytes = writeCapture(sampleHeader(), [](CaptureWriter& writer) {
        std::vector<RawEvent> worker = {rawAlloc(1, 0x2000, 16, 2)};
        writer.writeBatch(ThreadId(1), worker, {});
        writer.writeBatch(ThreadId(0), {}, definitionsForTwoFrames());
        writer.finish({1, 0});
    });
    Capture capture = readCaptureBytes(bytes);
    ASSERT_EQ(capture.events.size(), 1u);
    EXPECT_EQ(capture.events[0].stack, StackId(2));
}

TEST(FormatTest, RenamedThreadKeepsItsLastName) {
    std::string bytes = writeCapture(sampleHeader(), [](CaptureWriter& writer) {
        std::string defs;
        encodeThread(defs, {ThreadId(3), 9, "Thread-3"});
        writer.writeBatch(ThreadId(3), {}, defs);
        defs.clear();
        encodeThread(defs, {ThreadId(3), 9, "downloader"});
        writer.writeBatch(ThreadId(3), {}, defs);
        writer.finish({0, 0});
    });
    Capture capture = readCaptureBytes(bytes);
    ASSERT_EQ(capture.threads.size(), 1u);
    EXPECT_EQ(capture.threads[0].name, "downloader");
}

TEST(FormatTest, EveryTruncationReadsACleanPrefixOrFailsInTheHeader) {
    std::string full = smallCapture();
    Capture whole = readCaptureBytes(full);
    ASSERT_EQ(whole.events.size(), 5u);
    std::size_t headerEnd = detail::encodeFileHeader(sampleHeader()).size();
    std::size_t previousEvents = 0;
    for (std::size_t cut = 0; cut < full.size(); ++cut) {
        std::string prefix = full.substr(0, cut);
        if (cut < headerEnd) {  // nothing readable yet
            EXPECT_THROW(readCaptureBytes(prefix), common::FormatError) << "cut at " << cut;
            continue;
        }
        Capture capture = readCaptureBytes(prefix);
        EXPECT_FALSE(capture.complete) << "cut at " << cut;
        ASSERT_TRUE(capture.truncatedAt.has_value());
        EXPECT_LE(*capture.truncatedAt, cut);
        EXPECT_GE(capture.events.size(), previousEvents) << "cut at " << cut;
        for (std::size_t i = 0; i < capture.events.size(); ++i)
            EXPECT_EQ(capture.events[i].seq, whole.events[i].seq);
        previousEvents = capture.events.size();
    }
    EXPECT_EQ(previousEvents, 5u);
}

TEST(FormatTest, HeaderCutShortIsAnError) {
    std::string full = smallCapture();
    EXPECT_THROW(readCaptureBytes(full.substr(0, 12)), common::FormatError);
    EXPECT_THROW(readCaptureBytes(full.substr(0, 25)), common::FormatError);
}

TEST(FormatTest, EverySingleByteFlipIsRejectedWithAnOffsetBeforeIt) {
    std::string full = smallCapture();
    for (std::size_t at = 0; at < full.size(); ++at) {
        std::string corrupt = full;
        corrupt[at] = static_cast<char>(corrupt[at] ^ 0x5a);
        try {
            readCaptureBytes(corrupt);
            ADD_FAILURE() << "flip at " << at << " was accepted";
        } catch (const common::FormatError& error) {
            EXPECT_LE(error.offset(), at) << error.what();
            EXPECT_NE(std::string(error.what()).find("at offset " + std::to_string(error.offset())),
                      std::string::npos);
        }
    }
}

TEST(FormatTest, NewerVersionIsRejected) {
    std::string bytes = smallCapture();
    bytes[8] = static_cast<char>(kFormatVersion + 1);
    try {
        readCaptureBytes(bytes);
        FAIL() << "newer version accepted";
    } catch (const common::FormatError& error) {
        EXPECT_EQ(error.offset(), 8u);
        EXPECT_NE(std::string(error.what()).find("newer"), std::string::npos) << error.what();
    }
}

TEST(FormatTest, ForeignAndEmptyFilesAreRejected) {
    EXPECT_THROW(readCaptureBytes(""), common::FormatError);
    EXPECT_THROW(readCaptureBytes("#!/usr/bin/env python3\nprint('hello')\n"), common::FormatError);
    EXPECT_THROW(openFileSource("/nonexistent/memhound.bin"), common::Error);
}

TEST(FormatTest, UnknownStackIsRejectedInACompleteCapture) {
    std::string bytes = writeCapture(sampleHeader(), [](CaptureWriter& writer) {
        writer.writeBatch(ThreadId(0), {}, definitionsForTwoFrames());
        std::vector<RawEvent> events = {rawAlloc(1, 0x2000, 16, 9)};
        writer.writeBatch(ThreadId(0), events, {});
        writer.finish({1, 0});
    });
    try {
        readCaptureBytes(bytes);
        FAIL() << "unknown stack accepted";
    } catch (const common::FormatError& error) {
        EXPECT_NE(std::string(error.what()).find("unknown stack 9"), std::string::npos) << error.what();
        EXPECT_GT(error.offset(), 20u);  // names the second batch frame, not the header
    }
}

TEST(FormatTest, UnknownReferencesAreToleratedWhenTheEndWasLost) {
    std::string bytes = writeCapture(sampleHeader(), [](CaptureWriter& writer) {
        std::string defs;
        encodeStackNode(defs, {StackId(5), StackId(4), CodeId(8), 0});
        std::vector<RawEvent> events = {rawAlloc(1, 0x2000, 16, 5)};
        writer.writeBatch(ThreadId(0), events, defs);
    });
    Capture capture = readCaptureBytes(bytes);
    EXPECT_FALSE(capture.complete);
    EXPECT_EQ(capture.events.size(), 1u);
}

TEST(FormatTest, StackParentCycleIsRejected) {
    std::string bytes = writeCapture(sampleHeader(), [](CaptureWriter& writer) {
        std::string defs = definitionsForTwoFrames();
        encodeStackNode(defs, {StackId(7), StackId(8), CodeId(1), 0});
        encodeStackNode(defs, {StackId(8), StackId(9), CodeId(1), 0});
        encodeStackNode(defs, {StackId(9), StackId(7), CodeId(1), 0});
        writer.writeBatch(ThreadId(0), {}, defs);
        writer.finish({0, 0});
    });
    try {
        readCaptureBytes(bytes);
        FAIL() << "a cycle was accepted";
    } catch (const common::FormatError& error) {
        EXPECT_NE(std::string(error.what()).find("is its own ancestor"), std::string::npos) << error.what();
    }
}

TEST(FormatTest, ConflictingDuplicateDefinitionIsRejected) {
    std::string bytes = writeCapture(sampleHeader(), [](CaptureWriter& writer) {
        writer.writeBatch(ThreadId(0), {}, definitionsForTwoFrames());
        std::string again;
        encodeCode(again, {CodeId(1), "other.py", "main", 1, {}});
        writer.writeBatch(ThreadId(0), {}, again);
        writer.finish({0, 0});
    });
    EXPECT_THROW(readCaptureBytes(bytes), common::FormatError);
}

TEST(FormatTest, IdenticalDuplicateDefinitionIsAccepted) {
    std::string bytes = writeCapture(sampleHeader(), [](CaptureWriter& writer) {
        writer.writeBatch(ThreadId(0), {}, definitionsForTwoFrames());
        writer.writeBatch(ThreadId(1), {}, definitionsForTwoFrames());
        writer.finish({0, 0});
    });
    EXPECT_EQ(readCaptureBytes(bytes).codes.size(), 2u);
}

TEST(FormatTest, DataAfterTheTrailerIsRejected) {
    std::string bytes = smallCapture();
    EXPECT_THROW(readCaptureBytes(bytes + bytes.substr(bytes.size() - 20)), common::FormatError);
}

TEST(FormatTest, WriterReportsAFullDiskWithoutThrowing) {
    int fd = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    CaptureWriter writer(fd, sampleHeader());
    std::vector<RawEvent> events = {rawAlloc(1, 0x1000, 10, 0)};
    writer.writeBatch(ThreadId(0), events, {});
    writer.writeSample({});
    writer.finish({});
    EXPECT_TRUE(writer.failed());
    EXPECT_NE(writer.error().find("No space"), std::string::npos) << writer.error();
    EXPECT_EQ(writer.bytesWritten(), 0u);
}

TEST(FormatTest, WriterReportsABadDescriptorWithoutThrowing) {
    CaptureWriter writer(-1, sampleHeader());
    EXPECT_TRUE(writer.failed());
    EXPECT_FALSE(writer.error().empty());
}

std::atomic<int> alarms{0};
void onAlarm(int) { alarms.fetch_add(1); }

// A slow reader on a pipe and a timer signal without SA_RESTART make write(2) return early
// (short writes) or fail with EINTR; the file must still come out whole.
TEST(FormatTest, WriterSurvivesInterruptedAndShortWrites) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    std::string received;
    std::thread reader([&] {
        char buffer[4096];
        ssize_t got;
        while ((got = ::read(fds[0], buffer, sizeof buffer)) != 0) {
            if (got > 0) received.append(buffer, static_cast<std::size_t>(got));
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
    });
    struct sigaction action = {}, previous = {};
    action.sa_handler = onAlarm;  // no SA_RESTART: blocked writes are interrupted
    ASSERT_EQ(::sigaction(SIGALRM, &action, &previous), 0);
    itimerval timer = {{0, 500}, {0, 500}};
    ::setitimer(ITIMER_REAL, &timer, nullptr);

    testing::SyntheticWorkload workload(9);
    std::vector<RawEvent> events = workload.events(200'000);
    {
        CaptureWriter writer(fds[1], sampleHeader());
        writer.writeBatch(ThreadId(0), {}, testing::syntheticDefinitions(testing::SyntheticWorkload::kSites));
        for (std::size_t i = 0; i < events.size(); i += 50'000)
            writer.writeBatch(ThreadId(0), std::span<const RawEvent>(events).subspan(i, 50'000), {});
        writer.finish({events.back().seq, 1});
        EXPECT_FALSE(writer.failed()) << writer.error();
    }
    itimerval stop = {};
    ::setitimer(ITIMER_REAL, &stop, nullptr);
    ::sigaction(SIGALRM, &previous, nullptr);
    reader.join();
    ::close(fds[0]);
    EXPECT_GT(alarms.load(), 0);  // the writes were under fire

    Capture capture = readCaptureBytes(received);
    EXPECT_TRUE(capture.complete);
    ASSERT_EQ(capture.events.size(), events.size());
    EXPECT_EQ(capture.events[123'456].address, events[123'456].address);
}

// The DESIGN.md bar: <= 2 bytes per allocation+free event after compression.
TEST(FormatTest, PythonLikeWorkloadCompressesToAtMostTwoBytesPerEvent) {
    testing::SyntheticWorkload workload(7);
    std::vector<RawEvent> events = workload.events(1'000'000);
    constexpr std::size_t kBatch = 16384;
    std::string defs = testing::syntheticDefinitions(testing::SyntheticWorkload::kSites);
    std::string bytes = writeCapture(sampleHeader(), [&](CaptureWriter& writer) {
        writer.writeBatch(ThreadId(0), {}, defs);
        for (std::size_t i = 0; i < events.size(); i += kBatch) {
            std::size_t n = std::min(kBatch, events.size() - i);
            writer.writeBatch(ThreadId(0), std::span<const RawEvent>(events).subspan(i, n), {});
        }
        writer.finish({events.back().seq, 0});
    });
    double perEvent = static_cast<double>(bytes.size()) / static_cast<double>(events.size());
    std::printf("[ measure  ] synthetic pymalloc-like workload: %.3f bytes/event over %zu events\n", perEvent,
                events.size());
    EXPECT_LE(perEvent, 2.0);
    Capture capture = readCaptureBytes(bytes);
    ASSERT_EQ(capture.events.size(), events.size());
    EXPECT_EQ(capture.events.back().address, events.back().address);
}

}  // namespace
}  // namespace memhound::format
