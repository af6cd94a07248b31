#include "core/format/definitions.h"

#include <algorithm>
#include <optional>
#include <string>
#include <tuple>

#include "core/common/error.h"

namespace memhound::format::detail {
namespace {

using common::FormatError;

bool sameRecord(const CodeRecord& a, const CodeRecord& b) {
    return a.filename == b.filename && a.name == b.name && a.firstLine == b.firstLine &&
           a.lineTable == b.lineTable;
}
bool sameRecord(const StackNodeRecord& a, const StackNodeRecord& b) {
    return a.parent == b.parent && a.code == b.code && a.instrOffset == b.instrOffset;
}
bool sameRecord(const NativeFrameRecord& a, const NativeFrameRecord& b) {
    return a.parent == b.parent && a.address == b.address;
}

// In file order: by frame, and within a frame as the batch listed them (stable).
template <typename Record>
void sortByFrame(std::vector<Located<Record>>& records) {
    std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.frame < b.frame; });
}

// Records defined twice must be identical (the same definition re-sent); keeps one of each.
template <typename Record>
std::vector<Record> sortUnique(std::vector<Located<Record>>& records, const char* kind) {
    sortByFrame(records);
    std::stable_sort(records.begin(), records.end(),
                     [](const auto& a, const auto& b) { return a.record.id < b.record.id; });
    std::vector<Record> unique;
    unique.reserve(records.size());
    for (const Located<Record>& each : records) {
        if (!unique.empty() && unique.back().id == each.record.id) {
            if (!sameRecord(unique.back(), each.record))
                throw FormatError(std::string(kind) + " " + std::to_string(each.record.id.value) +
                                      " defined twice, differently",
                                  each.frame);
            continue;
        }
        unique.push_back(each.record);
    }
    return unique;
}

class ReferenceCheck {
public:
    ReferenceCheck(const Definitions& tables, bool complete) : m_tables(tables), m_complete(complete) {}

    void unresolved(const std::string& what, std::size_t frame) const {
        if (m_complete) throw FormatError(what, frame);
    }
    bool hasCode(common::CodeId id) const {
        return std::binary_search(m_tables.codes.begin(), m_tables.codes.end(), id,
                                  [](const auto& a, const auto& b) { return idOf(a) < idOf(b); });
    }
    bool hasStack(common::StackId id) const { return index(id).has_value(); }
    bool hasNative(common::StackId id) const { return nativeIndex(id).has_value(); }
    std::optional<std::size_t> nativeIndex(common::StackId id) const {
        auto it = std::lower_bound(m_tables.natives.begin(), m_tables.natives.end(), id,
                                   [](const NativeFrameRecord& frame, common::StackId want) { return frame.id < want; });
        if (it == m_tables.natives.end() || it->id != id) return {};
        return static_cast<std::size_t>(it - m_tables.natives.begin());
    }
    std::optional<std::size_t> index(common::StackId id) const {
        auto it = std::lower_bound(m_tables.stacks.begin(), m_tables.stacks.end(), id,
                                   [](const StackNodeRecord& node, common::StackId want) { return node.id < want; });
        if (it == m_tables.stacks.end() || it->id != id) return {};
        return static_cast<std::size_t>(it - m_tables.stacks.begin());
    }

private:
    static common::CodeId idOf(const CodeRecord& code) { return code.id; }
    static common::CodeId idOf(common::CodeId id) { return id; }
    const Definitions& m_tables;
    bool m_complete;
};

void checkStackReferences(const std::vector<Located<StackNodeRecord>>& inFileOrder, const ReferenceCheck& check) {
    for (const auto& [node, frame] : inFileOrder) {
        if (!check.hasCode(node.code))
            check.unresolved("stack node " + std::to_string(node.id.value) + " refers to unknown code " +
                                 std::to_string(node.code.value),
                             frame);
        if (node.parent.value != 0 && !check.hasStack(node.parent))
            check.unresolved("stack node " + std::to_string(node.id.value) + " refers to unknown parent " +
                                 std::to_string(node.parent.value),
                             frame);
    }
}

// A parent chain that comes back to a node would make every walk up that stack endless.
void checkStackCycles(const std::vector<StackNodeRecord>& stacks, const std::vector<Located<StackNodeRecord>>& log,
                      const ReferenceCheck& check) {
    enum : std::uint8_t { Unvisited, OnWalk, Done };
    std::vector<std::uint8_t> state(stacks.size(), Unvisited);
    std::vector<std::size_t> walk;
    for (const auto& each : log) {  // file order, so that the first cycle found is named
        walk.clear();
        std::optional<std::size_t> at = check.index(each.record.id);
        for (; at && state[*at] == Unvisited; at = stacks[*at].parent.value == 0
                                                       ? std::nullopt
                                                       : check.index(stacks[*at].parent)) {
            state[*at] = OnWalk;
            walk.push_back(*at);
        }
        if (at && state[*at] == OnWalk)
            throw FormatError("stack node " + std::to_string(stacks[*at].id.value) + " is its own ancestor",
                              each.frame);
        for (std::size_t node : walk) state[node] = Done;
    }
}

// A native frame's id is not a stack node's; its parent is a native frame, a stack node or 0, and
// following native parents ends (ids are handed out in order, but a corrupt file may loop).
void checkNativeFrames(const Definitions& tables, const std::vector<Located<NativeFrameRecord>>& inFileOrder,
                       const ReferenceCheck& check) {
    for (const auto& [frame, at] : inFileOrder) {
        const std::string name = "native frame " + std::to_string(frame.id.value);
        if (check.hasStack(frame.id)) throw FormatError(name + " has the id of a stack node", at);
        if (frame.parent.value != 0 && !check.hasNative(frame.parent) && !check.hasStack(frame.parent))
            check.unresolved(name + " refers to unknown parent " + std::to_string(frame.parent.value), at);
    }
    std::vector<std::uint8_t> done(tables.natives.size(), 0);
    std::vector<std::size_t> walk;
    for (const auto& each : inFileOrder) {
        walk.clear();
        for (std::optional<std::size_t> i = check.nativeIndex(each.record.id); i && done[*i] != 1;
             i = check.nativeIndex(tables.natives[*i].parent)) {
            if (done[*i] == 2) throw FormatError("native frame " + std::to_string(tables.natives[*i].id.value) +
                                                     " is its own ancestor", each.frame);
            done[*i] = 2;
            walk.push_back(*i);
        }
        for (std::size_t i : walk) done[i] = 1;
    }
}

std::vector<MappingRecord> uniqueMappings(std::vector<Located<MappingRecord>>& mappings) {
    std::vector<MappingRecord> out;
    for (Located<MappingRecord>& each : mappings) out.push_back(std::move(each.record));
    std::sort(out.begin(), out.end(), [](const MappingRecord& a, const MappingRecord& b) {
        return std::tie(a.start, a.end, a.bias, a.path, a.buildId) < std::tie(b.start, b.end, b.bias, b.path, b.buildId);
    });
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

void checkEventReferences(const FlatMap<std::size_t>& used, const ReferenceCheck& check) {
    std::optional<std::pair<std::size_t, std::uint64_t>> first;  // (frame, stack) in file order
    used.forEach([&](std::uint64_t stack, std::size_t frame) {
        const common::StackId id(static_cast<std::uint32_t>(stack));
        if (check.hasStack(id) || check.hasNative(id)) return;
        if (!first || std::pair(frame, stack) < *first) first = std::pair(frame, stack);
    });
    if (first) check.unresolved("event refers to unknown stack " + std::to_string(first->second), first->first);
}

std::vector<ThreadRecord> lastThreadNames(std::vector<Located<ThreadRecord>>& threads) {
    sortByFrame(threads);
    std::stable_sort(threads.begin(), threads.end(),
                     [](const auto& a, const auto& b) { return a.record.id < b.record.id; });
    std::vector<ThreadRecord> last;
    for (Located<ThreadRecord>& thread : threads) {
        if (!last.empty() && last.back().id == thread.record.id) {
            last.back() = std::move(thread.record);
        } else {
            last.push_back(std::move(thread.record));
        }
    }
    return last;
}

}  // namespace

Definitions finishDefinitions(DefinitionLog log, bool complete) {
    Definitions tables;
    tables.codes = sortUnique(log.codes, "code");
    std::vector<Located<StackNodeRecord>> stacksInFileOrder = log.stacks;
    tables.stacks = sortUnique(log.stacks, "stack node");
    ReferenceCheck check(tables, complete);
    sortByFrame(stacksInFileOrder);
    checkStackReferences(stacksInFileOrder, check);
    checkStackCycles(tables.stacks, stacksInFileOrder, check);
    std::vector<Located<NativeFrameRecord>> nativesInFileOrder = log.natives;
    tables.natives = sortUnique(log.natives, "native frame");
    sortByFrame(nativesInFileOrder);
    checkNativeFrames(tables, nativesInFileOrder, check);
    tables.mappings = uniqueMappings(log.mappings);
    checkEventReferences(log.stacksUsed, check);
    tables.threads = lastThreadNames(log.threads);
    return tables;
}

}  // namespace memhound::format::detail
