#include "core/analysis/symbols.h"

#include <unordered_map>

namespace memhound::analysis {

Symbols::Symbols(const format::Capture& capture)
    : m_capture(&capture),
      m_stackIndex(capture.stacks.size()),
      m_codeIndex(capture.codes.size()),
      m_canonical(capture.codes.size()),
      m_canonicalStack(capture.stacks.size()),
      m_nativeIndex(capture.natives.size()) {
    for (std::size_t i = 0; i < capture.stacks.size(); ++i)
        *m_stackIndex.findOrInsert(capture.stacks[i].id.value) = static_cast<std::uint32_t>(i);
    for (std::size_t i = 0; i < capture.natives.size(); ++i)
        *m_nativeIndex.findOrInsert(capture.natives[i].id.value) = static_cast<std::uint32_t>(i);
    if (!capture.natives.empty()) m_native = std::make_shared<const NativeSymbolizer>(capture.mappings);
    indexCodes();
    indexStacks();
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

// A node's key is its parent's canonical id and its own canonical code and instruction offset
// (not the line: the allocations of one line stay apart, as the leak detector needs). The recorder
// interns a parent before its children, so in id order the parent is already done; a node whose
// parent is not (a broken capture) stays its own.
void Symbols::indexStacks() {
    std::unordered_map<std::string, std::uint32_t> byKey;
    for (const format::StackNodeRecord& record : m_capture->stacks) {  // sorted by id
        std::uint32_t id = record.id.value;
        const std::uint32_t* parent = m_canonicalStack.find(record.parent.value);
        Location at = locate(record);
        if ((record.parent.value != 0 && parent == nullptr) || !at.known) {
            *m_canonicalStack.findOrInsert(id) = id;
            continue;
        }
        std::uint32_t key[3] = {parent ? *parent : 0u, at.code.value, static_cast<std::uint32_t>(record.instrOffset)};
        std::string bytes(reinterpret_cast<const char*>(key), sizeof key);
        *m_canonicalStack.findOrInsert(id) = byKey.try_emplace(std::move(bytes), id).first->second;
    }
}

common::StackId Symbols::canonicalStack(common::StackId stack) const {
    const std::uint32_t* canonical = m_canonicalStack.find(stack.value);
    return canonical ? common::StackId(*canonical) : stack;
}

const format::StackNodeRecord* Symbols::node(common::StackId stack) const {
    const std::uint32_t* index = m_stackIndex.find(stack.value);
    return index ? &m_capture->stacks[*index] : nullptr;
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
    // A parent chain longer than the number of nodes has a cycle (a broken capture): stop there.
    for (std::size_t depth = 0; stack.value != 0 && depth <= m_capture->stacks.size(); ++depth) {
        const format::StackNodeRecord* frame = node(stack);
        if (frame == nullptr) {
            out.push_back({});
            break;
        }
        out.push_back(locate(*frame));
        stack = frame->parent;
    }
    return out;
}

Location Symbols::innermost(common::StackId stack) const {
    stack = pythonStack(stack);
    const format::StackNodeRecord* frame = stack.value == 0 ? nullptr : node(stack);
    return frame ? locate(*frame) : Location{};
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
