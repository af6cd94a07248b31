#pragma once
// Per-thread capture of the current Python stack as a node of an interned prefix tree.
// Include compat.h before this header.
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/common/ids.h"
#include "core/common/lanes.h"
#include "core/record/compat.h"
#include "core/record/intern_table.h"

namespace memhound::record {

// A new stack node id, unique across the threads of the process (native frames take theirs here too).
std::uint32_t takeStackNodeId();

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
    // Inline for the common case: the same top frame as the last capture.
    common::StackId capture(PyThreadState* tstate, bool depthTracked, std::string& definitions) {
        compat::Frame* top = compat::topFrame(tstate);
        if (!(depthTracked && sameTopFrame(top))) [[unlikely]]
            return captureMoved(top, depthTracked, definitions);
        Entry& entry = m_entries.back();
        refreshOffset(entry, definitions);
        return entry.node;
    }

    // Keeps what the last capture found on top of the stack (GIL held, after a capture).
    void remember(std::uint64_t generation) {
        if (m_entries.empty()) {
            m_last = {};
            return;
        }
        const Entry& top = m_entries.back();
        m_last = {top.frame, top.code, top.offset, top.node, top.parent, top.codeId, generation};
    }
    // Where a thread that does not hold the GIL is, from its last capture: `node` when its top
    // frame is still the one that capture found, at the same instruction; else, when only the
    // instruction moved on, that frame's parent node, code and current instruction, for the caller
    // to intern (a node of its own: the thread's tables are not touched without the GIL); else
    // nothing (the empty stack).
    struct UnmovedTop {
        common::StackId node;
        common::StackId parent;
        common::CodeId code;  // 0 unless the instruction moved
        int offset = 0;
    };
    // For an event of this thread while it does not hold the GIL (a C call that released it), in
    // the same session as the last capture. The thread's own frames do not change while it runs C
    // code, so reading them needs no GIL; m_last is the owning thread's alone.
    UnmovedTop unmovedTop(PyThreadState* tstate, std::uint64_t generation) const {
        if (tstate == nullptr || m_last.frame == nullptr || m_last.generation != generation) return {};
        compat::Frame* top = compat::topFrame(tstate);
        if (top != m_last.frame || compat::frameCode(top) != m_last.code) return {};
        const int offset = compat::instructionOffset(top);
        if (offset == m_last.offset) return {m_last.node, {}, {}, 0};
        return {{}, m_last.parent, m_last.codeId, offset};
    }

    void onCall() { ++m_depth; }
    void onReturn() {
        --m_depth;
        if (m_depth < m_valid) m_valid = m_depth;
    }

    // Forgets every id so that the next captures re-announce their definitions (new capture file).
    void reset();
    // Strong references to the code objects this thread announced; released under the GIL.
    std::vector<PyCodeObject*> takeCodeRefs();
    // Moves to `unused` the references to code objects nothing else holds (GIL held) and
    // forgets their addresses, which a new code object may take: code compiled again and again
    // (exec, a doctest's examples) is not kept alive by tracing. Their ids stay valid.
    void takeUnusedCode(std::vector<PyCodeObject*>& unused);

private:
    // The nodes of one code's frames called from one parent node, by instruction offset: up to
    // 16, searched all at once, the oldest replaced first. Every call of that code from that node
    // shares them, so a loop calling a function, or a function whose callees take turns, finds
    // its nodes without a table lookup. (Hashing offsets into fewer places made a loop body's
    // three or four allocation sites evict each other, whatever the hash.)
    // Three cache lines: the key, the offsets, the nodes (a lookup that hits reads all three).
    struct alignas(64) CalleeNodes {
        static constexpr std::size_t kWays = 16;
        static constexpr int kNoOffset = std::numeric_limits<int>::min();
        common::StackId parent;
        common::CodeId codeId;
        PyCodeObject* code = nullptr;
        std::uint32_t nextWay = 0;
        alignas(64) std::array<int, kWays> offsets;
        std::array<common::StackId, kWays> nodes{};

        CalleeNodes() { offsets.fill(kNoOffset); }
        CalleeNodes(common::StackId parentNode, common::CodeId calleeId, PyCodeObject* callee)
            : CalleeNodes() {
            parent = parentNode;
            codeId = calleeId;
            code = callee;
        }
        bool matches(common::StackId parentNode, PyCodeObject* callee) const {
            return code == callee && parent == parentNode;
        }
        common::StackId nodeAt(int offset) const {
            const unsigned found = wayMask(offset);
            return found == 0 ? common::StackId{0} : nodes[static_cast<std::size_t>(__builtin_ctz(found))];
        }
        void remember(int offset, common::StackId node) {
            offsets[nextWay] = offset;
            nodes[nextWay] = node;
            nextWay = (nextWay + 1) % kWays;
        }
        // Bit i set when way i holds offset.
        unsigned wayMask(int offset) const {
            static_assert(kWays == 16);
            return common::equalMask16(reinterpret_cast<const std::uint32_t*>(offsets.data()),
                                       static_cast<std::uint32_t>(offset));
        }
    };
    static_assert(sizeof(CalleeNodes) == 192);
    static constexpr std::size_t kCalleeSlots = 1024;  // 192 KiB per thread

    // The nodes last resolved at one depth of the stack, whatever their parent: recursion that
    // goes down and up again meets the same (parent, code, offset) at the same depth, but with
    // more distinct (parent, code) pairs than the callee slots hold (a recursive descent parser
    // 900 frames deep: 15,000 pairs, 92% of slot lookups missed). 32 ways, the oldest replaced.
    struct alignas(64) DepthNodes {
        static constexpr std::size_t kWays = 32;
        std::array<std::uint32_t, kWays> parents{};
        std::array<std::int32_t, kWays> offsets{};
        std::array<std::uint32_t, kWays> nodes{};  // 0: an empty way
        std::array<PyCodeObject*, kWays> codes{};
        std::array<std::uint32_t, kWays> codeIds{};
        std::uint32_t nextWay = 0;

        // The node, and its code's id in `codeId`.
        common::StackId find(common::StackId parent, PyCodeObject* code, int offset, common::CodeId& codeId) const {
            std::uint64_t found = 0;
            for (std::size_t block = 0; block < kWays; block += 16) {
                const unsigned equal =
                    common::equalMask16(parents.data() + block, parent.value) &
                    common::equalMask16(reinterpret_cast<const std::uint32_t*>(offsets.data()) + block,
                                        static_cast<std::uint32_t>(offset));
                found |= std::uint64_t{equal} << block;
            }
            for (; found != 0; found &= found - 1) {
                const auto way = static_cast<std::size_t>(__builtin_ctzll(found));
                if (codes[way] == code && nodes[way] != 0) {
                    codeId = common::CodeId{codeIds[way]};
                    return common::StackId{nodes[way]};
                }
            }
            return common::StackId{0};
        }
        void remember(common::StackId parent, PyCodeObject* code, common::CodeId codeId, int offset,
                      common::StackId node) {
            parents[nextWay] = parent.value;
            offsets[nextWay] = offset;
            codes[nextWay] = code;
            codeIds[nextWay] = codeId.value;
            nodes[nextWay] = node.value;
            nextWay = (nextWay + 1) % kWays;
        }
    };

    struct Entry {
        compat::Frame* frame;
        PyCodeObject* code;
        CalleeNodes* nodes;  // the slot that held this frame's nodes; reused slots fail matches()
        common::StackId parent;
        int offset;
        common::StackId node;
        common::CodeId codeId;  // the code's id, as resolveNode found it
    };

    // The common case: no frame entered or left since the last capture, only the offset may differ.
    bool sameTopFrame(compat::Frame* top) const {
        return m_depth == m_valid && m_depth == static_cast<int>(m_entries.size()) && m_depth > 0 &&
               m_entries.back().frame == top && m_entries.back().code == compat::frameCode(top);
    }
    // Any other case: no frame (the stack is empty), or frames entered or left since.
    common::StackId captureMoved(compat::Frame* top, bool depthTracked, std::string& definitions);
    bool captureIncremental(compat::Frame* top, std::string& definitions);
    void captureFull(compat::Frame* top, std::string& definitions);
    // Pushes cache entries for m_scratch (root-most first) on top of the current entries.
    void pushScratchFrames(std::string& definitions);
    // Re-reads the entry's offset; a changed one gets its node.
    void refreshOffset(Entry& entry, std::string& definitions) {
        const int offset = compat::instructionOffset(entry.frame);
        if (offset == entry.offset) return;
        entry.offset = offset;
        resolveNode(entry, definitions);
    }
    // Sets entry.node for its (parent, code, offset): from its callee slot, or interned.
    void resolveNode(Entry& entry, std::string& definitions);
    CalleeNodes& calleeSlot(common::StackId parent, PyCodeObject* code, std::string& definitions);
    common::StackId internNode(common::StackId parent, common::CodeId code, int offset, std::string& definitions);
    common::CodeId internCode(PyCodeObject* code, std::string& definitions);
    // Drops the cached frames and callee slots that point at any of the (sorted) codes.
    void forgetCodes(const std::vector<PyCodeObject*>& sortedCodes);

    struct LastTop {
        compat::Frame* frame = nullptr;
        PyCodeObject* code = nullptr;
        int offset = 0;
        common::StackId node;
        common::StackId parent;
        common::CodeId codeId;
        std::uint64_t generation = 0;
    };
    LastTop m_last;                       // see remember(); the owning thread's alone
    std::vector<Entry> m_entries;         // the last captured stack, root first
    std::vector<compat::Frame*> m_scratch;  // frames read by the current capture, top first
    int m_depth = 0;
    int m_valid = 0;
    // Direct-mapped by (parent, code); reset when another pair takes the slot.
    std::array<CalleeNodes, kCalleeSlots> m_callees{};
    std::vector<DepthNodes> m_depthNodes;  // by depth from the root, grown to the deepest capture
    // Per-thread interning: code object address -> CodeId, and (parent, code, offset) -> StackId.
    // Touched only by the owning thread while it holds the GIL (and by reset() under the GIL).
    InternTable<std::uintptr_t, PointerHash> m_codes;
    InternTable<NodeKey, NodeKeyHash> m_nodes;
    std::vector<PyCodeObject*> m_codeRefs;
};

}  // namespace memhound::record
