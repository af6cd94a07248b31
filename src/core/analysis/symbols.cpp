#include "core/analysis/symbols.h"

namespace memhound::analysis {

Symbols::Symbols(const format::Capture& capture)
    : m_capture(capture), m_stackIndex(capture.stacks.size()), m_codeIndex(capture.codes.size()) {
    for (std::size_t i = 0; i < capture.stacks.size(); ++i)
        *m_stackIndex.findOrInsert(capture.stacks[i].id.value) = static_cast<std::uint32_t>(i);
    m_lines.reserve(capture.codes.size());
    for (std::size_t i = 0; i < capture.codes.size(); ++i) {
        const format::CodeRecord& record = capture.codes[i];
        *m_codeIndex.findOrInsert(record.id.value) = static_cast<std::uint32_t>(i);
        m_lines.emplace_back(record.lineTable, record.firstLine);
    }
}

const format::StackNodeRecord* Symbols::node(common::StackId stack) const {
    const std::uint32_t* index = m_stackIndex.find(stack.value);
    return index ? &m_capture.stacks[*index] : nullptr;
}

const format::CodeRecord* Symbols::code(common::CodeId id) const {
    const std::uint32_t* index = m_codeIndex.find(id.value);
    return index ? &m_capture.codes[*index] : nullptr;
}

Location Symbols::locate(const format::StackNodeRecord& frame) const {
    const std::uint32_t* codeIndex = m_codeIndex.find(frame.code.value);
    if (codeIndex == nullptr) return {frame.code, 0, false};
    return {frame.code, m_lines[*codeIndex].lineFor(frame.instrOffset), true};
}

std::vector<Location> Symbols::locations(common::StackId stack) const {
    std::vector<Location> out;
    // A parent chain longer than the number of nodes has a cycle (a broken capture): stop there.
    for (std::size_t depth = 0; stack.value != 0 && depth <= m_capture.stacks.size(); ++depth) {
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
    const format::StackNodeRecord* frame = stack.value == 0 ? nullptr : node(stack);
    return frame ? locate(*frame) : Location{};
}

Frame Symbols::frameAt(const Location& location) const {
    const format::CodeRecord* record = location.known ? code(location.code) : nullptr;
    if (record == nullptr) return {"<unknown>", "<unknown>", 0};
    return {record->filename, record->name, location.line};
}

std::vector<Frame> Symbols::frames(common::StackId stack) const {
    std::vector<Frame> out;
    for (const Location& location : locations(stack)) out.push_back(frameAt(location));
    return out;
}

}  // namespace memhound::analysis
