#pragma once
// Resolving stack ids to frames (file, function, line): the read-time half of the recorder's
// "store ids, resolve later" rule. Every line table is decoded once, at construction, so the
// object is read-only afterwards and safe to share between threads.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/analysis/line_table.h"
#include "core/analysis/native_symbols.h"
#include "core/common/ids.h"
#include "core/format/flat_map.h"
#include "core/format/reader.h"

namespace memhound::analysis {

struct Frame {
    std::string file;
    std::string function;
    std::int32_t line = 0;  // 0 = unknown
    bool operator==(const Frame&) const = default;
};

// Where a frame is, as ids: two frames are the same line when these are equal.
struct Location {
    common::CodeId code;  // canonical: one function recorded under two ids has one
    std::int32_t line = 0;
    bool known = false;  // false for the empty stack and for ids the capture does not define
};

class Symbols {
public:
    explicit Symbols(const format::Capture& capture);

    // Python frames, innermost first. Unknown ids (a capture cut short) resolve to a "<unknown>"
    // frame. A stack that starts with native frames (version 4) gives the Python stack they were
    // called from.
    std::vector<Frame> frames(common::StackId stack) const;
    // The C frames of a stack, innermost first (the allocator's caller); empty when none were
    // recorded. Named on first use.
    std::vector<NativeFrame> nativeFrames(common::StackId stack) const;
    // The return addresses of those frames, innermost first.
    std::vector<std::uint64_t> nativeAddresses(common::StackId stack) const;
    // The Python stack node under a stack's native frames (the stack itself when it has none).
    common::StackId pythonStack(common::StackId stack) const;
    std::vector<Location> locations(common::StackId stack) const;
    Location innermost(common::StackId stack) const;
    Frame frameAt(const Location& location) const;
    std::int32_t functionLine(const Location& location) const;  // co_firstlineno; 0 = unknown
    // The smallest stack id at the same instructions of the same functions: code compiled again and
    // again (exec, a doctest's examples) records a new code object, so a new stack, each time.
    common::StackId canonicalStack(common::StackId stack) const;
    // The smallest stack id with the same frames: the same lines of the same functions (not
    // instructions) and the same C return addresses. One `--by stack` row, one exported stack.
    common::StackId sameFramesStack(common::StackId stack) const;

private:
    const format::CodeRecord* code(common::CodeId id) const;
    Location locate(const format::StackNodeRecord& frame) const;
    void indexCodes();
    void indexStacks();
    void indexNatives();

    // m_parent's values: 1 + the parent's index in m_capture.stacks, or one of these.
    static constexpr std::uint32_t kRoot = 0, kMissing = ~std::uint32_t{0};

    const format::Capture* m_capture;  // a pointer, so that a CaptureAnalysis can rebuild its Symbols
    format::FlatMap<std::uint32_t> m_stackIndex;  // stack id -> index in m_capture.stacks
    format::FlatMap<std::uint32_t> m_codeIndex;   // code id -> index in m_capture.codes
    format::FlatMap<std::uint32_t> m_canonical;   // code id -> smallest id with the same content
    format::FlatMap<std::uint32_t> m_nativeIndex;     // native frame id -> index in m_capture.natives
    // By index in m_capture.stacks: where the node is, its parent, and its canonical and
    // same-frames ids; decoded once so that walking a stack is array lookups.
    std::vector<Location> m_located;
    std::vector<std::uint32_t> m_parent;
    std::vector<std::uint32_t> m_canonicalStack;
    std::vector<std::uint32_t> m_sameFramesStack;
    format::FlatMap<std::uint32_t> m_sameFramesNative;  // native frame id -> same-frames id
    std::vector<LineTable> m_lines;                   // by index in m_capture.codes
    std::shared_ptr<const NativeSymbolizer> m_native;  // shared by copies; null without mappings
};

}  // namespace memhound::analysis
