#pragma once
// Per-thread capture of the current Python stack as a node of an interned prefix tree.
// Include compat.h before this header.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/common/ids.h"
#include "core/record/compat.h"
#include "core/record/intern_table.h"

namespace memhound::record {

// Captures the calling thread's stack (GIL held) and interns it. New code objects and new
// nodes are announced by appending CodeRecord/StackNodeRecord encodings to `definitions`.
//
// Consecutive captures reuse a cache of the last stack (root..top). A frame-evaluation hook keeps
// m_depth (frames entered minus frames left) and m_valid (how many cached frames, from the root,
// are known to be still on the stack; only the topmost of those may have moved on). A capture
// then reads only the frames above m_valid plus the junction frame, and checks the junction's
// frame pointer and code; any mismatch (frames from before tracing, another frame hook, a thread
// that had no recorder yet) falls back to a full walk that resets the counts. Linked frames are
// live and have distinct addresses, so a miscount shows up as a junction mismatch unless a dead
// cached frame's address and code were both reused.
class StackCapture {
public:
    common::StackId capture(PyThreadState* tstate, bool depthTracked, std::string& definitions);

    void onCall() { ++m_depth; }
    void onReturn() {
        --m_depth;
        if (m_depth < m_valid) m_valid = m_depth;
    }

    // Forgets every id so that the next captures re-announce their definitions (new capture file).
    void reset();
    // Strong references to the code objects this thread announced; released under the GIL.
    std::vector<PyCodeObject*> takeCodeRefs();

private:
    // What a frame remembers of the frames it calls: the last callee's code and its nodes by
    // offset (direct-mapped). A loop calling the same function, which allocates at the same few
    // places, then finds every node without a table lookup, though each call is a new frame; so
    // does a loop body allocating at several places (seven in a list comprehension is common).
    struct CalleeMemory {
        static constexpr std::size_t kWays = 16;
        common::StackId parent;  // the caller's node that these nodes hang from
        PyCodeObject* code = nullptr;
        common::CodeId codeId;
        std::array<int, kWays> offsets{};
        std::array<common::StackId, kWays> nodes{};  // 0 = empty way

        bool matches(common::StackId parentNode, PyCodeObject* callee) const {
            return code == callee && parent == parentNode;
        }
        void reset(common::StackId parentNode, PyCodeObject* callee, common::CodeId calleeId) {
            parent = parentNode;
            code = callee;
            codeId = calleeId;
            nodes.fill(common::StackId{0});
        }
        static std::size_t wayOf(int offset) { return static_cast<unsigned>(offset) % kWays; }
        common::StackId nodeAt(int offset) const {
            const std::size_t way = wayOf(offset);
            return offsets[way] == offset ? nodes[way] : common::StackId{0};
        }
        void remember(int offset, common::StackId node) {
            offsets[wayOf(offset)] = offset;
            nodes[wayOf(offset)] = node;
        }
    };

    struct Entry {
        compat::Frame* frame;
        PyCodeObject* code;
        common::CodeId codeId;
        int offset;
        common::StackId node;
        CalleeMemory callees;
    };

    // The common case: no frame entered or left since the last capture, only the offset may differ.
    bool sameTopFrame(compat::Frame* top) const {
        return m_depth == m_valid && m_depth == static_cast<int>(m_entries.size()) && m_depth > 0 &&
               m_entries.back().frame == top && m_entries.back().code == compat::frameCode(top);
    }
    bool captureIncremental(compat::Frame* top, std::string& definitions);
    void captureFull(compat::Frame* top, std::string& definitions);
    // Pushes cache entries for m_scratch (root-most first) on top of the current entries.
    void pushScratchFrames(std::string& definitions);
    void refreshOffset(Entry& entry, std::string& definitions);
    // The node of a frame of `code` at `offset` whose caller is entry index - 1 (none for index 0):
    // remembered by the caller, or interned. Sets codeId.
    common::StackId nodeOf(std::size_t index, PyCodeObject* code, int offset, common::CodeId& codeId,
                           std::string& definitions);
    common::StackId parentOf(std::size_t index) const;
    common::StackId internNode(common::StackId parent, common::CodeId code, int offset, std::string& definitions);
    common::CodeId internCode(PyCodeObject* code, std::string& definitions);

    std::vector<Entry> m_entries;         // the last captured stack, root first
    std::vector<compat::Frame*> m_scratch;  // frames read by the current capture, top first
    int m_depth = 0;
    int m_valid = 0;
    CalleeMemory m_outermost;  // what the root remembers of the outermost frame
    // Per-thread interning: code object address -> CodeId, and (parent, code, offset) -> StackId.
    // Touched only by the owning thread while it holds the GIL (and by reset() under the GIL).
    InternTable<std::uintptr_t, PointerHash> m_codes;
    InternTable<NodeKey, NodeKeyHash> m_nodes;
    // Direct-mapped cache in front of m_nodes: most lookups are of a few hot call sites.
    struct RecentNode {
        NodeKey key;
        std::uint32_t id = 0;  // 0 = empty
    };
    std::array<RecentNode, 1024> m_recentNodes{};
    std::vector<PyCodeObject*> m_codeRefs;
};

}  // namespace memhound::record
