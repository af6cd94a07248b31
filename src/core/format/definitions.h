#pragma once
// The definitions of a capture (code objects, stack nodes, thread names) as batches bring them,
// each with the offset of its frame, and the checks that make them one consistent table.
// Internal to core/format.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/common/ids.h"
#include "core/format/flat_map.h"
#include "core/format/records.h"

namespace memhound::format::detail {

template <typename Record>
struct Located {
    Record record;
    std::size_t frame;  // offset of the frame that defined it
};

struct DefinitionLog {
    std::vector<Located<CodeRecord>> codes;
    std::vector<Located<StackNodeRecord>> stacks;
    std::vector<Located<ThreadRecord>> threads;
    std::vector<Located<NativeFrameRecord>> natives;
    std::vector<Located<MappingRecord>> mappings;
    FlatMap<std::size_t> stacksUsed{256};  // stack id used by an event -> first frame using it

    void noteStackUse(common::StackId stack, std::size_t frame) {
        if (stack.value == 0) return;
        std::size_t* first = stacksUsed.find(stack.value);
        if (first == nullptr) {
            *stacksUsed.findOrInsert(stack.value) = frame;
        } else if (frame < *first) {
            *first = frame;
        }
    }
};

// Sorts and deduplicates the definitions and checks every reference. A complete capture must
// resolve them all; a truncated one may have lost definitions with its last frame. Throws
// common::FormatError naming the frame of the first bad record (in file order).
Definitions finishDefinitions(DefinitionLog log, bool complete);

}  // namespace memhound::format::detail
