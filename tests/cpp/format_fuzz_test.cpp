// The reader on hostile input: random bytes, mutated files, and mutated batch bodies re-sealed
// with valid compression and checksums (so the decoders behind the checksums are reached too).
// Every input must either read or throw common::FormatError; nothing else, no crash (ASan: make asan).
#include <gtest/gtest.h>
#include <zstd.h>

#include <random>

#include "capture_files.h"
#include "core/common/error.h"
#include "core/format/encoding.h"
#include "core/format/format.h"

namespace memhound::format {
namespace {

using common::CodeId;
using common::StackId;
using common::ThreadId;

constexpr int kRounds = 3000;

// Returns true when the bytes were read, false when rejected with FormatError.
bool readOrReject(const std::string& bytes) {
    try {
        readCaptureBytes(bytes);
        return true;
    } catch (const common::FormatError&) {
        return false;
    }
}

// A batch body and the prefix its frame declares for it.
struct Batch {
    std::string body;
    detail::BatchPrefix prefix;
};

Batch batchBody(std::uint32_t seed) {
    testing::SyntheticWorkload workload(seed);
    std::vector<RawEvent> events = workload.events(60);
    std::string defs;
    encodeCode(defs, {CodeId(1), "a.py", "f", 3, std::string("\x80\x00\xd8\x04", 4)});
    for (std::uint32_t stack = 1; stack <= testing::SyntheticWorkload::kSites; ++stack)
        encodeStackNode(defs, {StackId(stack), StackId(stack / 2), CodeId(1), 4});
    encodeThread(defs, {ThreadId(0), 1, "MainThread"});
    std::string body;
    detail::EventColumnEncoder columns;
    detail::encodeBatch(body, columns, ThreadId(0), events, defs);
    return {body, {ThreadId(0), events.size(), events.front().seq, events.back().seq}};
}

// A capture with one batch frame holding `body` and a trailer, all checksums valid.
std::string sealedCapture(const std::string& body, const detail::BatchPrefix& prefix) {
    std::string payload;
    detail::encodeBatchPrefix(payload, prefix);
    std::string compressed(ZSTD_compressBound(body.size()), '\0');
    compressed.resize(ZSTD_compress(compressed.data(), compressed.size(), body.data(), body.size(), 1));
    payload += compressed;
    std::string file = detail::encodeFileHeader(testing::sampleHeader());
    detail::appendFrame(file, detail::FrameType::Batch, payload);
    std::string trailer;
    detail::encodeTrailer(trailer, {1, 2});
    detail::appendFrame(file, detail::FrameType::Trailer, trailer);
    return file;
}

void mutate(std::string& bytes, std::mt19937& random) {
    std::uniform_int_distribution<int> edits(1, 4), kind(0, 3), value(0, 255);
    for (int n = edits(random); n > 0 && !bytes.empty(); --n) {
        std::uniform_int_distribution<std::size_t> at(0, bytes.size() - 1);
        switch (kind(random)) {
            case 0:
                bytes[at(random)] = static_cast<char>(value(random));
                break;
            case 1:
                bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at(random)),
                             static_cast<char>(value(random)));
                break;
            case 2:
                bytes.erase(at(random), 1);
                break;
            default:
                bytes.resize(at(random));
        }
    }
}

TEST(FormatFuzzTest, RandomBytesAreRejected) {
    std::mt19937 random(1);
    std::uniform_int_distribution<int> length(0, 400), value(0, 255);
    std::string magic = detail::encodeFileHeader(testing::sampleHeader()).substr(0, 12);
    for (int round = 0; round < kRounds; ++round) {
        std::string bytes = round % 2 ? magic : "";  // half of them look like a capture at first
        for (int n = length(random); n > 0; --n) bytes.push_back(static_cast<char>(value(random)));
        EXPECT_FALSE(readOrReject(bytes)) << "round " << round;
    }
}

TEST(FormatFuzzTest, MutatedFilesNeverCrashTheReader) {
    std::mt19937 random(2);
    Batch batch = batchBody(3);
    std::string original = sealedCapture(batch.body, batch.prefix);
    ASSERT_TRUE(readOrReject(original));
    for (int round = 0; round < kRounds; ++round) {
        std::string bytes = original;
        mutate(bytes, random);
        if (!readOrReject(bytes)) continue;
        // Only what precedes a cut, or an edit that changed nothing, may be read.
        Capture capture = readCaptureBytes(bytes);
        std::size_t used = capture.complete ? bytes.size() : *capture.truncatedAt;
        EXPECT_EQ(original.compare(0, used, bytes, 0, used), 0) << "round " << round << ": damage was read";
        if (capture.complete) {
            EXPECT_EQ(bytes, original) << "round " << round;
        }
    }
}

TEST(FormatFuzzTest, MutatedBatchBodiesBehindValidChecksumsNeverCrashTheReader) {
    std::mt19937 random(4);
    Batch batch = batchBody(5);
    ASSERT_TRUE(readOrReject(sealedCapture(batch.body, batch.prefix)));
    int rejected = 0;
    for (int round = 0; round < kRounds; ++round) {
        std::string mutated = batch.body;
        mutate(mutated, random);
        rejected += !readOrReject(sealedCapture(mutated, batch.prefix));
    }
    EXPECT_GT(rejected, kRounds / 2);  // the decoders do notice most damage
}

}  // namespace
}  // namespace memhound::format
