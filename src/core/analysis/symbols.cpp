#include "core/analysis/symbols.h"

#include <unordered_map>

namespace memhound::analysis {
namespace {

// Interns triples of 32-bit fields without allocating per entry: a FlatMap keyed by the first
// two fields heads a chain of the third fields seen with them (chains are short: the call sites
// of one function under one caller).
class TripleInterner {
public:
    explicit TripleInterner(std::size_t expected) : m_heads(expected) { m_entries.reserve(expected); }

    // The value interned for (a, b, c), or `value` when (a, b, c) is new.
    std::uint32_t intern(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t value) {
        std::uint32_t* head = m_heads.findOrInsert(std::uint64_t{a} << 32 | b);
        if (head == nullptr) return value;  // the map's one unstorable key
        for (std::uint32_t at = *head; at != 0; at = m_entries[at - 1].next)
            if (m_entries[at - 1].c == c) return m_entries[at - 1].value;
        m_entries.push_back({c, value, *head});
        *head = static_cast<std::uint32_t>(m_entries.size());
        return value;
    }

private:
    struct Entry {
        std::uint32_t c, value, next;  // next: 1 + index of the chain's next entry; 0 = end
    };
    format::FlatMap<std::uint32_t> m_heads;  // (a, b) -> 1 + index of the chain's first entry
    std::vector<Entry> m_entries;
};

}  // namespace

Symbols::Symbols(const format::Capture& capture)
    : m_capture(&capture),
      m_stackIndex(capture.stacks.size()),
      m_codeIndex(capture.codes.size()),
      m_canonical(capture.codes.size()),
      m_nativeIndex(capture.natives.size()),
      m_sameFramesNative(capture.natives.size()) {
    for (std::size_t i = 0; i < capture.stacks.size(); ++i)
        *m_stackIndex.findOrInsert(capture.stacks[i].id.value) = static_cast<std::uint32_t>(i);
    for (std::size_t i = 0; i < capture.natives.size(); ++i)
        *m_nativeIndex.findOrInsert(capture.natives[i].id.value) = static_cast<std::uint32_t>(i);
    if (!capture.natives.empty()) m_native = std::make_shared<const NativeSymbolizer>(capture.mappings);
    indexCodes();
    indexStacks();
    indexNatives();
}

// The recorder may register one code object under several ids (one per thread, for instance):
// records with the same content share the canonical id, so that they group as one function.
void Symbols::indexCodes() {
    std::unordered_map<std::string, common::CodeId> byContent;
    m_lines.reserve(m_capture->codes.size());
    for (std::size_t i = 0; i < m_capture->codes.size(); ++i) {  // sorted by id: the first is the smallest
        const format::CodeRecord& record = m_capture->codes[i];
        *m_codeIndex.findOrInsert(record.id.value) = static_cast<std::uint32_t>(i);
        m_lines.emplace_back(record.lineTable, record.firstLine);
        std::string content = record.filename + '\0' + record.name + '\0' + std::to_string(record.firstLine) +
                              '\0' + record.lineTable;
        *m_canonical.findOrInsert(record.id.value) =
            byContent.try_emplace(content, record.id).first->second.value;
    }
}

// A node's canonical key is its parent's canonical id and its own canonical code and instruction
// offset (not the line: the allocations of one line stay apart, as the leak detector needs); its
// same-frames key has the line instead. The recorder interns a parent before its children, so in
// id order the parent is already done; a node whose parent is not (a broken capture) stays its own.
void Symbols::indexStacks() {
    const std::vector<format::StackNodeRecord>& stacks = m_capture->stacks;  // sorted by id
    m_located.resize(stacks.size());
    m_parent.resize(stacks.size());
    m_canonicalStack.resize(stacks.size());
    m_sameFramesStack.resize(stacks.size());
    TripleInterner byInstruction(stacks.size()), byLine(stacks.size());
    for (std::size_t i = 0; i < stacks.size(); ++i) {
        const format::StackNodeRecord& record = stacks[i];
        std::uint32_t id = record.id.value;
        const std::uint32_t* parentIndex = record.parent.value == 0 ? nullptr : m_stackIndex.find(record.parent.value);
        m_parent[i] = record.parent.value == 0 ? kRoot : parentIndex ? *parentIndex + 1 : kMissing;
        m_located[i] = locate(record);
        m_canonicalStack[i] = m_sameFramesStack[i] = id;
        bool parentDone = record.parent.value == 0 || (parentIndex && *parentIndex < i);
        if (!parentDone || !m_located[i].known) continue;
        std::uint32_t canonicalParent = parentIndex ? m_canonicalStack[*parentIndex] : 0;
        std::uint32_t sameFramesParent = parentIndex ? m_sameFramesStack[*parentIndex] : 0;
        std::uint32_t code = m_located[i].code.value;
        m_canonicalStack[i] =
            byInstruction.intern(canonicalParent, code, static_cast<std::uint32_t>(record.instrOffset), id);
        m_sameFramesStack[i] = byLine.intern(sameFramesParent, code, static_cast<std::uint32_t>(m_located[i].line), id);
    }
}

// A native frame's same-frames key: its parent's same-frames id and its return address.
void Symbols::indexNatives() {
    TripleInterner byAddress(m_capture->natives.size());
    for (const format::NativeFrameRecord& record : m_capture->natives) {  // sorted by id
        std::uint32_t parent = sameFramesStack(record.parent).value;
        bool parentDone = m_nativeIndex.find(record.parent.value) == nullptr || record.parent.value < record.id.value;
        std::uint32_t* into = m_sameFramesNative.findOrInsert(record.id.value);
        if (into == nullptr) continue;
        *into = parentDone ? byAddress.intern(parent, static_cast<std::uint32_t>(record.address),
                                              static_cast<std::uint32_t>(record.address >> 32), record.id.value)
                           : record.id.value;
    }
}

common::StackId Symbols::canonicalStack(common::StackId stack) const {
    const std::uint32_t* index = m_stackIndex.find(stack.value);
    return index ? common::StackId(m_canonicalStack[*index]) : stack;
}

common::StackId Symbols::sameFramesStack(common::StackId stack) const {
    if (const std::uint32_t* native = m_sameFramesNative.find(stack.value)) return common::StackId(*native);
    const std::uint32_t* index = m_stackIndex.find(stack.value);
    return index ? common::StackId(m_sameFramesStack[*index]) : stack;
}

const format::CodeRecord* Symbols::code(common::CodeId id) const {
    const std::uint32_t* index = m_codeIndex.find(id.value);
    return index ? &m_capture->codes[*index] : nullptr;
}

Location Symbols::locate(const format::StackNodeRecord& frame) const {
    const std::uint32_t* codeIndex = m_codeIndex.find(frame.code.value);
    if (codeIndex == nullptr) return {frame.code, 0, false};
    common::CodeId canonical(*m_canonical.find(frame.code.value));
    return {canonical, m_lines[*codeIndex].lineFor(frame.instrOffset), true};
}

common::StackId Symbols::pythonStack(common::StackId stack) const {
    // A chain longer than the table has a cycle (a broken capture): stop there.
    for (std::size_t depth = 0; depth <= m_capture->natives.size(); ++depth) {
        const std::uint32_t* index = m_nativeIndex.find(stack.value);
        if (index == nullptr) return stack;
        stack = m_capture->natives[*index].parent;
    }
    return common::StackId{0};
}

std::vector<std::uint64_t> Symbols::nativeAddresses(common::StackId stack) const {
    std::vector<std::uint64_t> out;
    for (const std::uint32_t* index = m_nativeIndex.find(stack.value);
         index != nullptr && out.size() <= m_capture->natives.size(); index = m_nativeIndex.find(stack.value)) {
        out.push_back(m_capture->natives[*index].address);
        stack = m_capture->natives[*index].parent;
    }
    return out;
}

std::vector<NativeFrame> Symbols::nativeFrames(common::StackId stack) const {
    std::vector<NativeFrame> out;
    for (std::uint64_t address : nativeAddresses(stack)) out.push_back(m_native->resolve(address));
    return out;
}

std::vector<Location> Symbols::locations(common::StackId stack) const {
    std::vector<Location> out;
    stack = pythonStack(stack);
    if (stack.value == 0) return out;
    const std::uint32_t* index = m_stackIndex.find(stack.value);
    // A parent chain longer than the number of nodes has a cycle (a broken capture): stop there.
    for (std::uint32_t at = index ? *index + 1 : kMissing; at != kRoot && out.size() <= m_located.size();
         at = m_parent[at - 1]) {
        if (at == kMissing) {
            out.push_back({});
            break;
        }
        out.push_back(m_located[at - 1]);
    }
    return out;
}

Location Symbols::innermost(common::StackId stack) const {
    stack = pythonStack(stack);
    const std::uint32_t* index = stack.value == 0 ? nullptr : m_stackIndex.find(stack.value);
    return index ? m_located[*index] : Location{};
}

Frame Symbols::frameAt(const Location& location) const {
    const format::CodeRecord* record = location.known ? code(location.code) : nullptr;
    if (record == nullptr) return {"<unknown>", "<unknown>", 0};
    return {record->filename, record->name, location.line};
}

std::int32_t Symbols::functionLine(const Location& location) const {
    const format::CodeRecord* record = location.known ? code(location.code) : nullptr;
    return record ? record->firstLine : 0;
}

std::vector<Frame> Symbols::frames(common::StackId stack) const {
    std::vector<Frame> out;
    for (const Location& location : locations(stack)) out.push_back(frameAt(location));
    return out;
}

}  // namespace memhound::analysis
