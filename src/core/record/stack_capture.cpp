#include "core/record/compat.h"

#include "core/record/stack_capture.h"

#include <algorithm>
#include <atomic>
#include <bit>

#include "core/format/records.h"
#include "core/record/py_text.h"

namespace memhound::record {
namespace {

// Ids are unique across all threads of a process; taken only when a table misses.
std::atomic<std::uint32_t> g_nextCodeId{1};
std::atomic<std::uint32_t> g_nextNodeId{1};

std::string bytesOf(PyObject* bytes) {
    if (bytes == nullptr || !PyBytes_Check(bytes)) return {};
    return std::string(PyBytes_AS_STRING(bytes), static_cast<std::size_t>(PyBytes_GET_SIZE(bytes)));
}

}  // namespace

std::uint32_t takeStackNodeId() { return g_nextNodeId.fetch_add(1, std::memory_order_relaxed); }

common::StackId StackCapture::captureMoved(compat::Frame* top, bool depthTracked, std::string& definitions) {
    if (top == nullptr) {
        m_entries.clear();
        m_depth = m_valid = 0;
        return common::StackId{0};
    }
    if (!(depthTracked && captureIncremental(top, definitions))) captureFull(top, definitions);
    return m_entries.back().node;
}

bool StackCapture::captureIncremental(compat::Frame* top, std::string& definitions) {
    const int valid = std::min<int>(m_valid, static_cast<int>(m_entries.size()));
    const int fresh = m_depth - valid;
    if (valid <= 0 || fresh < 0) return false;
    m_scratch.clear();
    compat::Frame* frame = top;
    for (int i = 0; i < fresh; ++i) {
        if (frame == nullptr) return false;
        m_scratch.push_back(frame);
        frame = compat::callerFrame(frame);
    }
    const Entry& junction = m_entries[static_cast<std::size_t>(valid) - 1];
    // One frame more than counted: a frame entered while the thread had no recorder yet.
    if (frame != nullptr && frame != junction.frame) {
        m_scratch.push_back(frame);
        frame = compat::callerFrame(frame);
    }
    if (frame != junction.frame || compat::frameCode(frame) != junction.code) return false;
    m_entries.resize(static_cast<std::size_t>(valid));
    refreshOffset(m_entries.back(), definitions);
    pushScratchFrames(definitions);
    m_depth = m_valid = static_cast<int>(m_entries.size());
    return true;
}

void StackCapture::captureFull(compat::Frame* top, std::string& definitions) {
    m_scratch.clear();
    for (compat::Frame* frame = top; frame != nullptr; frame = compat::callerFrame(frame)) m_scratch.push_back(frame);
    // Keep the cached prefix whose (code, offset) path is unchanged: node ids depend only on it.
    std::size_t kept = 0;
    const std::size_t total = m_scratch.size();
    while (kept < m_entries.size() && kept < total) {
        compat::Frame* frame = m_scratch[total - 1 - kept];
        Entry& entry = m_entries[kept];
        if (compat::frameCode(frame) != entry.code || compat::instructionOffset(frame) != entry.offset) break;
        entry.frame = frame;
        ++kept;
    }
    m_entries.resize(kept);
    m_scratch.resize(total - kept);
    pushScratchFrames(definitions);
    m_depth = m_valid = static_cast<int>(m_entries.size());
}

void StackCapture::pushScratchFrames(std::string& definitions) {
    for (auto it = m_scratch.rbegin(); it != m_scratch.rend(); ++it) {
        const common::StackId parent = m_entries.empty() ? common::StackId{0} : m_entries.back().node;
        // Filled in place: an entry built on the stack and copied in stalls on store forwarding.
        Entry& entry = m_entries.emplace_back();
        entry.frame = *it;
        entry.code = compat::frameCode(*it);
        entry.parent = parent;
        entry.offset = compat::instructionOffset(*it);
        resolveNode(entry, definitions);
    }
}

void StackCapture::resolveNode(Entry& entry, std::string& definitions) {
    CalleeNodes* nodes = entry.nodes;
    const bool slotKnown = nodes != nullptr && nodes->matches(entry.parent, entry.code);
    if (slotKnown) {
        entry.node = nodes->nodeAt(entry.offset);
        entry.codeId = nodes->codeId;
        if (entry.node.value != 0) return;
    }
    const auto depth = static_cast<std::size_t>(&entry - m_entries.data());
    if (depth >= m_depthNodes.size()) m_depthNodes.resize(depth + 1);
    DepthNodes& atDepth = m_depthNodes[depth];
    entry.node = atDepth.find(entry.parent, entry.code, entry.offset, entry.codeId);
    if (entry.node.value != 0) return;
    if (!slotKnown) {
        nodes = entry.nodes = &calleeSlot(entry.parent, entry.code, definitions);
        entry.node = nodes->nodeAt(entry.offset);
        entry.codeId = nodes->codeId;
    }
    if (entry.node.value == 0) {
        entry.node = internNode(entry.parent, nodes->codeId, entry.offset, definitions);
        nodes->remember(entry.offset, entry.node);
    }
    atDepth.remember(entry.parent, entry.code, entry.codeId, entry.offset, entry.node);
}

StackCapture::CalleeNodes& StackCapture::calleeSlot(common::StackId parent, PyCodeObject* code,
                                                     std::string& definitions) {
    const std::uint64_t mixed = (reinterpret_cast<std::uintptr_t>(code) >> 4) * 0x9E3779B97F4A7C15ull ^
                                std::uint64_t{parent.value} * 0xC2B2AE3D27D4EB4Full;
    CalleeNodes& slot = m_callees[mixed >> (64 - std::countr_zero(kCalleeSlots))];
    if (!slot.matches(parent, code)) slot = CalleeNodes(parent, internCode(code, definitions), code);
    return slot;
}

common::StackId StackCapture::internNode(common::StackId parent, common::CodeId code, int offset,
                                         std::string& definitions) {
    const NodeKey key{parent.value, code.value, offset};
    std::uint32_t id = m_nodes.find(key);
    if (id == 0) {
        id = takeStackNodeId();
        m_nodes.insert(key, id);
        format::encodeStackNode(definitions, format::StackNodeRecord{common::StackId{id}, parent, code, offset});
    }
    return common::StackId{id};
}

common::CodeId StackCapture::internCode(PyCodeObject* code, std::string& definitions) {
    const auto key = reinterpret_cast<std::uintptr_t>(code);
    if (std::uint32_t id = m_codes.find(key)) return common::CodeId{id};
    const common::CodeId id{g_nextCodeId.fetch_add(1, std::memory_order_relaxed)};
    m_codes.insert(key, id.value);
    // The table is keyed by address: holding a reference keeps the address from being reused.
    Py_INCREF(code);
    m_codeRefs.push_back(code);
    format::encodeCode(definitions, format::CodeRecord{id, utf8Of(code->co_filename), utf8Of(code->co_qualname),
                                                       code->co_firstlineno, bytesOf(code->co_linetable)});
    return id;
}

void StackCapture::reset() {
    m_entries.clear();
    m_callees.fill(CalleeNodes{});
    m_depthNodes.clear();
    m_depth = m_valid = 0;
    m_codes.clear();
    m_nodes.clear();
}

void StackCapture::takeUnusedCode(std::vector<PyCodeObject*>& unused) {
    const std::size_t before = unused.size();
    std::erase_if(m_codeRefs, [&](PyCodeObject* code) {
        if (Py_REFCNT(code) != 1) return false;
        unused.push_back(code);
        m_codes.erase(reinterpret_cast<std::uintptr_t>(code));
        return true;
    });
    if (unused.size() == before) return;
    std::vector<PyCodeObject*> sorted(unused.begin() + static_cast<std::ptrdiff_t>(before), unused.end());
    std::sort(sorted.begin(), sorted.end());
    forgetCodes(sorted);
}

void StackCapture::forgetCodes(const std::vector<PyCodeObject*>& sortedCodes) {
    auto gone = [&](PyCodeObject* code) { return std::binary_search(sortedCodes.begin(), sortedCodes.end(), code); };
    // A dead code is on no live frame, but the cache may still hold frames that have returned.
    auto firstGone = std::find_if(m_entries.begin(), m_entries.end(), [&](const Entry& e) { return gone(e.code); });
    m_entries.erase(firstGone, m_entries.end());
    m_valid = std::min(m_valid, static_cast<int>(m_entries.size()));
    for (CalleeNodes& slot : m_callees)
        if (slot.code != nullptr && gone(slot.code)) slot = CalleeNodes{};
    for (DepthNodes& atDepth : m_depthNodes)
        for (std::size_t way = 0; way < DepthNodes::kWays; ++way)
            if (atDepth.codes[way] != nullptr && gone(atDepth.codes[way])) atDepth.nodes[way] = 0;
}

std::vector<PyCodeObject*> StackCapture::takeCodeRefs() {
    std::vector<PyCodeObject*> refs;
    refs.swap(m_codeRefs);
    return refs;
}

}  // namespace memhound::record
