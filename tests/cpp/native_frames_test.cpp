// Native frames (format version 4): their definition records, the checks on them, the analysis
// that reads Python frames under them, and naming them from an object's symbols at read time.
#include <gtest/gtest.h>
#include <link.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <fstream>

#include "capture_files.h"
#include "core/analysis/native_symbols.h"
#include "core/analysis/sites.h"
#include "core/analysis/symbols.h"
#include "core/common/error.h"
#include "core/format/encoding.h"
#include "core/format/format.h"

// A function of this executable with a plain (C) name.
extern "C" [[gnu::noinline]] int memhoundTestKnownFunction(int x) { return x * 3 + 1; }

namespace memhound {
namespace {

using common::CodeId;
using common::StackId;
using common::ThreadId;
using format::CaptureWriter;
using format::encodeNativeFrame;
using testing::rawAlloc;
using testing::sampleHeader;
using testing::writeCapture;

// Python: main (1) -> build (2). C: two chains called from build, sharing their outer frame.
std::string pythonAndNativeDefinitions() {
    std::string defs;
    format::encodeCode(defs, {CodeId(1), "app.py", "main", 1, std::string("\x80\x00\xd8\x04", 4)});
    format::encodeCode(defs, {CodeId(2), "lib.py", "build", 10, std::string("\x80\x00", 2)});
    format::encodeStackNode(defs, {StackId(1), StackId(0), CodeId(1), -1});
    format::encodeStackNode(defs, {StackId(2), StackId(1), CodeId(2), 0});
    encodeNativeFrame(defs, {StackId(3), StackId(2), 0x7f0000401000});  // outermost C frame
    encodeNativeFrame(defs, {StackId(4), StackId(3), 0x7f0000402000});
    encodeNativeFrame(defs, {StackId(5), StackId(3), 0x7f0000403000});
    encodeNativeFrame(defs, {StackId(6), StackId(0), 0x7f0000404000});  // a thread with no Python frame
    format::encodeMapping(defs, {"/usr/lib/libfoo.so", 0x7f0000400000, 0x7f0000400000, 0x7f0000410000, "\x12\x34"});
    return defs;
}

format::Header nativeHeader() {
    format::Header header = sampleHeader();
    header.native = header.nativeFrames = true;
    return header;
}

std::string nativeCapture(const std::string& extraDefinitions = {}) {
    return writeCapture(nativeHeader(), [&](CaptureWriter& writer) {
        std::vector<format::RawEvent> events = {
            rawAlloc(1, 0x10000, 100, 4, common::Allocator::Malloc),
            rawAlloc(2, 0x20000, 50, 5, common::Allocator::Malloc),
            rawAlloc(3, 0x30000, 10, 2, common::Allocator::Malloc),
            rawAlloc(4, 0x40000, 7, 6, common::Allocator::Mmap),
        };
        writer.writeBatch(ThreadId(0), events, pythonAndNativeDefinitions() + extraDefinitions);
        // The writer thread's mappings come again in an empty batch: read once.
        std::string again;
        format::encodeMapping(again, {"/usr/lib/libfoo.so", 0x7f0000400000, 0x7f0000400000, 0x7f0000410000, "\x12\x34"});
        writer.writeBatch(ThreadId(0), {}, again);
        writer.finish({4, 0});
        EXPECT_FALSE(writer.failed()) << writer.error();
    });
}

TEST(NativeFramesTest, RoundTripKeepsFramesMappingsAndTheFlag) {
    format::Capture capture = format::readCaptureBytes(nativeCapture());
    EXPECT_EQ(capture.header.version, format::kFormatVersion);
    EXPECT_TRUE(capture.header.nativeFrames);
    ASSERT_EQ(capture.natives.size(), 4u);
    EXPECT_EQ(capture.natives[0].id, StackId(3));
    EXPECT_EQ(capture.natives[0].parent, StackId(2));
    EXPECT_EQ(capture.natives[1].address, 0x7f0000402000u);
    ASSERT_EQ(capture.mappings.size(), 1u);
    EXPECT_EQ(capture.mappings[0].path, "/usr/lib/libfoo.so");
    EXPECT_EQ(capture.mappings[0].end, 0x7f0000410000u);
    EXPECT_EQ(capture.mappings[0].buildId, "\x12\x34");
    ASSERT_EQ(capture.events.size(), 4u);
    EXPECT_EQ(capture.events[0].stack, StackId(4));
}

TEST(NativeFramesTest, SymbolsGiveThePythonFramesUnderTheNativeOnes) {
    format::Capture capture = format::readCaptureBytes(nativeCapture());
    analysis::Symbols symbols(capture);
    EXPECT_EQ(symbols.pythonStack(StackId(4)), StackId(2));
    EXPECT_EQ(symbols.pythonStack(StackId(6)), StackId(0));
    EXPECT_EQ(symbols.pythonStack(StackId(2)), StackId(2));
    ASSERT_EQ(symbols.frames(StackId(5)).size(), 2u);
    EXPECT_EQ(symbols.frames(StackId(5))[0].function, "build");
    EXPECT_TRUE(symbols.frames(StackId(6)).empty());
    EXPECT_EQ(symbols.nativeAddresses(StackId(4)), (std::vector<std::uint64_t>{0x7f0000402000, 0x7f0000401000}));
    EXPECT_TRUE(symbols.nativeAddresses(StackId(2)).empty());
    // The library does not exist here: its frames name the object and the offset.
    std::vector<analysis::NativeFrame> frames = symbols.nativeFrames(StackId(4));
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].object, "/usr/lib/libfoo.so");
    EXPECT_EQ(frames[0].offset, 0x2000u);
    EXPECT_TRUE(frames[0].function.empty());
}

TEST(NativeFramesTest, ALineIsOneRowWhateverItsCFramesAndAStackRowPerCStack) {
    format::Capture capture = format::readCaptureBytes(nativeCapture());
    analysis::Symbols symbols(capture);
    analysis::StackTotals totals(16);
    *totals.findOrInsert(analysis::siteKey(StackId(4), common::Allocator::Malloc)) = {100, 1};
    *totals.findOrInsert(analysis::siteKey(StackId(5), common::Allocator::Malloc)) = {50, 1};
    *totals.findOrInsert(analysis::siteKey(StackId(2), common::Allocator::Malloc)) = {10, 1};
    auto byLine = analysis::groupSites(totals, symbols, analysis::GroupBy::Line, analysis::SortBy::Bytes, 0);
    ASSERT_EQ(byLine.rows.size(), 1u);
    EXPECT_EQ(byLine.rows[0].amount.bytes, 160);
    EXPECT_EQ(byLine.rows[0].stack, StackId(4));  // the heaviest stack's C frames are shown
    EXPECT_EQ(byLine.rows[0].nativeFrames.size(), 2u);
    auto byStack = analysis::groupSites(totals, symbols, analysis::GroupBy::Stack, analysis::SortBy::Bytes, 0);
    EXPECT_EQ(byStack.rows.size(), 3u);
}

// Each corrupt native record is named with the offset of the batch frame that holds it.
void expectRejected(const std::string& bytes, const std::string& message) {
    try {
        format::readCaptureBytes(bytes);
        FAIL() << "accepted: " << message;
    } catch (const common::FormatError& error) {
        EXPECT_NE(std::string(error.what()).find(message), std::string::npos) << error.what();
        EXPECT_EQ(error.offset(), format::detail::kFileHeaderSize + format::detail::encodeFileHeader(nativeHeader()).size() -
                                      format::detail::kFileHeaderSize)
            << error.what();
    }
}

TEST(NativeFramesTest, CorruptNativeRecordsAreRejectedWithTheirOffset) {
    std::string zeroId;
    encodeNativeFrame(zeroId, {StackId(0), StackId(2), 0x1000});
    expectRejected(nativeCapture(zeroId), "native frame with id 0");
    std::string zeroAddress;
    encodeNativeFrame(zeroAddress, {StackId(9), StackId(2), 0});
    expectRejected(nativeCapture(zeroAddress), "native frame with address 0");
    std::string sharedId;
    encodeNativeFrame(sharedId, {StackId(1), StackId(0), 0x1000});
    expectRejected(nativeCapture(sharedId), "has the id of a stack node");
    std::string unknownParent;
    encodeNativeFrame(unknownParent, {StackId(9), StackId(77), 0x1000});
    expectRejected(nativeCapture(unknownParent), "refers to unknown parent 77");
    std::string cycle;
    encodeNativeFrame(cycle, {StackId(10), StackId(11), 0x1000});
    encodeNativeFrame(cycle, {StackId(11), StackId(10), 0x1000});
    expectRejected(nativeCapture(cycle), "is its own ancestor");
    std::string twice;
    encodeNativeFrame(twice, {StackId(4), StackId(3), 0x9999});
    expectRejected(nativeCapture(twice), "defined twice, differently");
    std::string emptyMapping;
    format::encodeMapping(emptyMapping, {"/lib/x.so", 0, 0x5000, 0x5000, ""});
    expectRejected(nativeCapture(emptyMapping), "mapping with an invalid range");
    std::string cutShort;
    encodeNativeFrame(cutShort, {StackId(12), StackId(2), 0x123456789});
    cutShort.pop_back();
    expectRejected(nativeCapture(cutShort), "definitions");
}

// A function of this executable whose name is mangled (one with a plain name is above).
[[gnu::noinline]] int mangledKnownFunction(double x) { return static_cast<int>(x) * 5; }

format::MappingRecord thisExecutable() {
    format::MappingRecord mapping;
    char path[PATH_MAX] = {};
    const ssize_t size = readlink("/proc/self/exe", path, sizeof path - 1);
    mapping.path.assign(path, size > 0 ? static_cast<std::size_t>(size) : 0);
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* out) {
            auto* m = static_cast<format::MappingRecord*>(out);
            m->bias = info->dlpi_addr;
            m->start = ~std::uint64_t{0};
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const ElfW(Phdr)& ph = info->dlpi_phdr[i];
                if (ph.p_type != PT_LOAD) continue;
                m->start = std::min<std::uint64_t>(m->start, info->dlpi_addr + ph.p_vaddr);
                m->end = std::max<std::uint64_t>(m->end, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
            }
            return 1;  // the first object is the executable
        },
        &mapping);
    return mapping;
}

TEST(NativeFramesTest, SymbolizerNamesFunctionsFromTheObjectsSymbols) {
    analysis::NativeSymbolizer symbolizer({thisExecutable()});
    // A return address lies after the call: one byte into the function stands for a call there.
    const auto known = reinterpret_cast<std::uint64_t>(&memhoundTestKnownFunction) + 2;
    analysis::NativeFrame frame = symbolizer.resolve(known);
    EXPECT_EQ(frame.function, "memhoundTestKnownFunction");
    EXPECT_EQ(frame.object, thisExecutable().path);
    EXPECT_EQ(symbolizer.resolve(reinterpret_cast<std::uint64_t>(&mangledKnownFunction) + 2).function,
              "memhound::(anonymous namespace)::mangledKnownFunction(double)");
    EXPECT_EQ(memhoundTestKnownFunction(1) + mangledKnownFunction(1.0), 9);
    EXPECT_TRUE(symbolizer.resolve(0x10).object.empty());  // no mapping holds it
}

TEST(NativeFramesTest, AChangedObjectShowsOnlyItsOffset) {
    format::MappingRecord changed = thisExecutable();
    changed.buildId = "not this build";
    analysis::NativeSymbolizer symbolizer({changed});
    const auto known = reinterpret_cast<std::uint64_t>(&memhoundTestKnownFunction) + 2;
    analysis::NativeFrame frame = symbolizer.resolve(known);
    EXPECT_TRUE(frame.function.empty());
    EXPECT_EQ(frame.offset, known - changed.bias);
}

TEST(NativeFramesTest, DemanglesCppNamesOnly) {
    EXPECT_EQ(analysis::demangle("_ZN3foo3barEv"), "foo::bar()");
    EXPECT_EQ(analysis::demangle("malloc"), "malloc");
    EXPECT_EQ(analysis::demangle("_Znot-a-name"), "_Znot-a-name");
}

}  // namespace
}  // namespace memhound
