#pragma once
// The table that profile exports (pprof, speedscope, collapsed stacks) are written from: each
// distinct stack of one or more views with its amount in each, its frames as indices into one
// list of distinct frames. Built in C++ so that a capture with many deep stacks is exported
// without a Python object per frame of every stack.
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/analysis/sites.h"
#include "core/analysis/symbols.h"

namespace memhound::analysis {

struct ProfileFrame {
    std::string function;
    std::string file;
    std::int32_t line = 0;          // 0 = unknown
    std::int32_t functionLine = 0;  // the function's first line (co_firstlineno); 0 = unknown
};

struct ProfileStack {
    std::vector<std::uint32_t> frames;  // indices into ProfileTable::frames, innermost first
    common::Allocator allocator = common::Allocator::PyObject;  // as siteAllocator gives it
    std::vector<Amount> amounts;        // one per StackTotals given, in their order
};

struct ProfileTable {
    std::vector<ProfileFrame> frames;
    std::vector<ProfileStack> stacks;  // largest first amount first; ties by frames
};

// What a frame is to the rule that cuts the launcher's frames (memhound run's CLI and program
// runner, the leak checker's loop, and the runpy frames that lead to them) off a stack.
enum class FrameRole : std::uint8_t { Program = 0, Launcher = 1, Runpy = 2 };

// The names of the frames that stand for what a stack's frames cannot show: a stack with no
// Python frame, and the allocator of memory that is not Python's own (empty: none).
struct PseudoFrames {
    std::string noPythonFrame;
    std::array<std::string, static_cast<std::size_t>(common::kLastAllocator) + 1> byAllocator;
};

// How many of a stack's frames (innermost first) are the program's: everything inside the
// first launcher frame past the innermost, less the runpy frames just inside it.
std::size_t launcherEnd(std::span<const std::uint32_t> frames, std::span<const FrameRole> roles);

// The table with the launcher's frames cut from every stack, pseudo frames added, and stacks
// that became the same merged; sorted as profileTable sorts. `roles` has one per frame.
ProfileTable withoutLauncherFrames(ProfileTable table, std::span<const FrameRole> roles, const PseudoFrames& pseudo);

// One stack per distinct (allocator, frames): stacks on the same lines of the same functions are
// merged, as `--by stack` merges them. Stacks with nothing in any of `totals` are left out.
ProfileTable profileTable(std::span<const StackTotals* const> totals, const Symbols& symbols);

}  // namespace memhound::analysis
