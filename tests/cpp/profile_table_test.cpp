// The table profile exports are written from: distinct frames, stacks merged by their lines,
// one amount per view; and the time of the peak between the RSS samples around it.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/analysis/capture_analysis.h"

namespace memhound::analysis {
namespace {

using common::CodeId;
using common::StackId;
using common::ThreadId;
using format::EventKind;

// A code object whose instruction at code unit i is on line firstLine + i.
format::CodeRecord code(std::uint32_t id, std::string file, std::string name, std::int32_t firstLine) {
    std::string table("\xe8\x00", 2);
    for (int i = 1; i < 32; ++i) table.append("\xe8\x02", 2);
    return {CodeId(id), std::move(file), std::move(name), firstLine, table};
}

// main (app.py:10) -> work (app.py:20); stack 1: main at line 12, stack 2: main 12 -> work 23,
// stack 3: main 12 -> work 23 again, from a second copy of work's code (code id 3, same content).
format::Capture program() {
    format::Capture capture;
    capture.codes = {code(1, "app.py", "main", 10), code(2, "app.py", "work", 20), code(3, "app.py", "work", 20)};
    capture.stacks = {{StackId(1), StackId(0), CodeId(1), 2},
                      {StackId(2), StackId(1), CodeId(2), 3},
                      {StackId(3), StackId(1), CodeId(3), 3}};
    capture.complete = true;
    return capture;
}

struct Events {
    format::Capture capture = program();
    std::uint64_t seq = 0;
    Events& alloc(std::uint64_t address, std::uint64_t size, std::uint32_t stack,
                  common::Allocator allocator = common::Allocator::PyObject) {
        capture.events.push_back({++seq, address, size, StackId(stack), ThreadId(0), EventKind::Alloc, allocator});
        return *this;
    }
    Events& free(std::uint64_t address) {
        capture.events.push_back({++seq, address, 0, StackId(0), ThreadId(0), EventKind::Free,
                                  common::Allocator::PyObject});
        return *this;
    }
    Events& sample(double seconds) {
        capture.samples.push_back({static_cast<std::int64_t>(seconds * 1e9), seq + 1, 1 << 20});
        return *this;
    }
};

std::vector<std::string> names(const ProfileTable& table, const ProfileStack& stack) {
    std::vector<std::string> out;
    for (std::uint32_t index : stack.frames)
        out.push_back(table.frames[index].function + ":" + std::to_string(table.frames[index].line));
    return out;
}

TEST(ProfileTableTest, StacksOnTheSameLinesAreOneStackWithOneAmountPerView) {
    Events events;
    events.alloc(0x10, 100, 2).alloc(0x20, 300, 3).alloc(0x30, 50, 1).free(0x10).free(0x30);
    CaptureAnalysis analysis(std::move(events.capture));
    View views[] = {View::Leaks, View::Allocated};
    ProfileTable table = analysis.profile(views);
    ASSERT_EQ(table.stacks.size(), 2u);
    EXPECT_EQ(names(table, table.stacks[0]), (std::vector<std::string>{"work:23", "main:12"}));
    EXPECT_EQ(table.stacks[0].amounts[0].bytes, 300);  // live at the end: 0x20 only
    EXPECT_EQ(table.stacks[0].amounts[1].bytes, 400);  // allocated: both copies of work
    EXPECT_EQ(table.stacks[0].amounts[1].count, 2);
    EXPECT_EQ(names(table, table.stacks[1]), (std::vector<std::string>{"main:12"}));
    EXPECT_EQ(table.stacks[1].amounts[0].bytes, 0);  // freed, but allocated: kept for that view
    EXPECT_EQ(table.stacks[1].amounts[1].bytes, 50);
    ASSERT_EQ(table.frames.size(), 2u);  // main:12 and work:23, each once
}

TEST(ProfileTableTest, FramesCarryTheirFileAndTheFunctionsFirstLine) {
    Events events;
    events.alloc(0x10, 8, 2);
    CaptureAnalysis analysis(std::move(events.capture));
    View views[] = {View::Peak};
    ProfileTable table = analysis.profile(views);
    ASSERT_EQ(table.stacks.size(), 1u);
    const ProfileFrame& work = table.frames[table.stacks[0].frames[0]];
    EXPECT_EQ(work.file, "app.py");
    EXPECT_EQ(work.line, 23);
    EXPECT_EQ(work.functionLine, 20);
}

TEST(ProfileTableTest, OtherAllocatorsAreStacksApartAndTheEmptyStackHasNoFrames) {
    Events events;
    events.alloc(0x10, 64, 2).alloc(0x20, 4096, 2, common::Allocator::Malloc).alloc(0x30, 16, 0);
    CaptureAnalysis analysis(std::move(events.capture));
    View views[] = {View::Peak};
    ProfileTable table = analysis.profile(views);
    ASSERT_EQ(table.stacks.size(), 3u);
    EXPECT_EQ(table.stacks[0].allocator, common::Allocator::Malloc);
    EXPECT_EQ(table.stacks[0].amounts[0].bytes, 4096);
    EXPECT_EQ(table.stacks[1].allocator, common::Allocator::PyObject);
    EXPECT_EQ(table.stacks[1].frames, table.stacks[0].frames);
    EXPECT_TRUE(table.stacks[2].frames.empty());
}

TEST(ProfileTableTest, AViewWithNothingGivesNoStacks) {
    Events events;
    events.alloc(0x10, 8, 2).alloc(0x20, 8, 2).alloc(0x30, 8, 2).alloc(0x40, 8, 2).alloc(0x50, 8, 2);
    CaptureAnalysis analysis(std::move(events.capture));
    View views[] = {View::Temporary};
    EXPECT_TRUE(analysis.profile(views).stacks.empty());
}

TEST(ProfileTableTest, PeakTimeFallsBetweenTheSamplesAroundThePeakBySeq) {
    Events events;
    events.sample(1.0).alloc(0x10, 100, 1).alloc(0x20, 100, 1).alloc(0x30, 100, 1).sample(2.0).free(0x10);
    events.capture.header.startTimeNs = 0;
    CaptureAnalysis analysis(std::move(events.capture));
    ASSERT_TRUE(analysis.peakSeconds().has_value());
    // Samples before seq 1 and 4; the peak is event 3: two thirds of the way from 1 s to 2 s.
    EXPECT_NEAR(*analysis.peakSeconds(), 1.0 + 2.0 / 3.0, 1e-9);
}

TEST(ProfileTableTest, NoPeakTimeWithoutSamplesAroundIt) {
    Events events;
    events.alloc(0x10, 100, 1).sample(1.0);
    CaptureAnalysis analysis(std::move(events.capture));
    EXPECT_FALSE(analysis.peakSeconds().has_value());
}

// Frames 0..4: app (program), cli (launcher), runpy, main (launcher), lib (program).
ProfileTable launcherTable(std::vector<ProfileStack> stacks) {
    ProfileTable table;
    for (const char* name : {"app", "cli", "runpy", "main", "lib"}) table.frames.push_back({name, name, 1, 1});
    table.stacks = std::move(stacks);
    return table;
}
const FrameRole kRoles[] = {FrameRole::Program, FrameRole::Launcher, FrameRole::Runpy, FrameRole::Launcher,
                            FrameRole::Program};

ProfileStack stackOf(std::vector<std::uint32_t> frames, double bytes,
                     common::Allocator allocator = common::Allocator::PyObject) {
    return {std::move(frames), allocator, {Amount{bytes, 1}}};
}

TEST(ProfileTableTest, TheLauncherEndsAStackWithTheRunpyFramesThatLedToIt) {
    std::vector<std::uint32_t> underRunpy = {0, 4, 2, 1, 3};  // app, lib, runpy, cli, main
    EXPECT_EQ(launcherEnd(underRunpy, kRoles), 2u);
    std::vector<std::uint32_t> launcherInnermost = {1, 0, 3};  // an allocation the launcher made
    EXPECT_EQ(launcherEnd(launcherInnermost, kRoles), 2u);
    std::vector<std::uint32_t> noLauncher = {0, 2, 4};
    EXPECT_EQ(launcherEnd(noLauncher, kRoles), 3u);
    std::vector<std::uint32_t> onlyRunpyInside = {2, 1};  // the innermost frame always stays
    EXPECT_EQ(launcherEnd(onlyRunpyInside, kRoles), 1u);
}

TEST(ProfileTableTest, StacksThatTheCutMakesTheSameAreMergedAndSortedAgain) {
    ProfileTable table = launcherTable({stackOf({0, 4, 1}, 10), stackOf({0, 4, 2, 3}, 5), stackOf({4, 1}, 12),
                                        stackOf({0, 4}, 1, common::Allocator::PyMem)});
    ProfileTable cut = withoutLauncherFrames(std::move(table), kRoles, PseudoFrames{});
    ASSERT_EQ(cut.stacks.size(), 2u);
    EXPECT_EQ(cut.stacks[0].frames, (std::vector<std::uint32_t>{0, 4}));  // three stacks, every pymem domain
    EXPECT_EQ(cut.stacks[0].amounts[0].bytes, 16);
    EXPECT_EQ(cut.stacks[0].amounts[0].count, 3);
    EXPECT_EQ(cut.stacks[1].frames, (std::vector<std::uint32_t>{4}));
    EXPECT_EQ(cut.stacks[1].amounts[0].bytes, 12);
}

TEST(ProfileTableTest, PseudoFramesNameAnEmptyStackAndMemoryThatIsNotPythons) {
    PseudoFrames pseudo;
    pseudo.noPythonFrame = "[no Python frame]";
    pseudo.byAllocator[static_cast<std::size_t>(common::Allocator::Malloc)] = "[malloc]";
    ProfileTable table = launcherTable({stackOf({}, 30), stackOf({0}, 20, common::Allocator::Malloc),
                                        stackOf({}, 10, common::Allocator::Malloc)});
    ProfileTable cut = withoutLauncherFrames(std::move(table), kRoles, pseudo);
    ASSERT_EQ(cut.stacks.size(), 3u);
    ASSERT_EQ(cut.frames.size(), 7u);  // the five, then each pseudo frame once
    EXPECT_EQ(names(cut, cut.stacks[0]), (std::vector<std::string>{"[no Python frame]:0"}));
    EXPECT_EQ(names(cut, cut.stacks[1]), (std::vector<std::string>{"[malloc]:0", "app:1"}));
    EXPECT_EQ(names(cut, cut.stacks[2]), (std::vector<std::string>{"[malloc]:0", "[no Python frame]:0"}));
    EXPECT_EQ(cut.frames[cut.stacks[0].frames[0]].file, "");
}

// A code object whose instructions are all on firstLine.
format::CodeRecord oneLineCode(std::uint32_t id, std::string name, std::int32_t firstLine) {
    std::string table;
    for (int i = 0; i < 32; ++i) table.append("\xe8\x00", 2);
    return {CodeId(id), "app.py", std::move(name), firstLine, table};
}

TEST(ProfileTableTest, SameFramesStacksAreTheSameLinesWhateverTheInstructionOrCodeCopy) {
    format::Capture capture;
    capture.codes = {oneLineCode(1, "main", 10), oneLineCode(2, "work", 20), oneLineCode(3, "work", 20),
                     code(4, "app.py", "other", 30)};
    capture.stacks = {{StackId(1), StackId(0), CodeId(1), 2},   // main:10
                      {StackId(2), StackId(1), CodeId(2), 3},   // main -> work:20
                      {StackId(3), StackId(1), CodeId(2), 5},   // another instruction on work:20
                      {StackId(4), StackId(1), CodeId(3), 3},   // the copy of work, same instruction
                      {StackId(5), StackId(1), CodeId(4), 1},   // main -> other:31
                      {StackId(6), StackId(1), CodeId(4), 2},   // main -> other:32
                      {StackId(7), StackId(4), CodeId(4), 1}};  // under the copy of work
    capture.natives = {{StackId(8), StackId(3), 0x1000}, {StackId(9), StackId(2), 0x1000},
                       {StackId(10), StackId(2), 0x2000}};
    capture.complete = true;
    Symbols symbols(capture);
    EXPECT_EQ(symbols.sameFramesStack(StackId(3)), StackId(2));
    EXPECT_EQ(symbols.sameFramesStack(StackId(4)), StackId(2));
    EXPECT_EQ(symbols.canonicalStack(StackId(3)), StackId(3));  // instructions stay apart there
    EXPECT_EQ(symbols.canonicalStack(StackId(4)), StackId(2));
    EXPECT_NE(symbols.sameFramesStack(StackId(6)), symbols.sameFramesStack(StackId(5)));
    EXPECT_EQ(symbols.sameFramesStack(StackId(7)), StackId(7));
    EXPECT_EQ(symbols.sameFramesStack(StackId(9)), StackId(8));  // the same C frame over the same lines
    EXPECT_EQ(symbols.sameFramesStack(StackId(10)), StackId(10));
    EXPECT_EQ(symbols.sameFramesStack(StackId(99)), StackId(99));  // unknown: itself
}

}  // namespace
}  // namespace memhound::analysis
