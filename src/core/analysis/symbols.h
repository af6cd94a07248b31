#pragma once
// Resolving stack ids to frames (file, function, line): the read-time half of the recorder's
// "store ids, resolve later" rule. Every line table is decoded once, at construction, so the
// object is read-only afterwards and safe to share between threads.
#include <cstdint>
#include <string>
#include <vector>

#include "core/analysis/line_table.h"
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

    // Innermost first. Unknown ids (a capture cut short) resolve to a "<unknown>" frame.
    std::vector<Frame> frames(common::StackId stack) const;
    std::vector<Location> locations(common::StackId stack) const;
    Location innermost(common::StackId stack) const;
    Frame frameAt(const Location& location) const;
    std::int32_t functionLine(const Location& location) const;  // co_firstlineno; 0 = unknown
    // The smallest stack id at the same instructions of the same functions: code compiled again and
    // again (exec, a doctest's examples) records a new code object, so a new stack, each time.
    common::StackId canonicalStack(common::StackId stack) const;

private:
    const format::StackNodeRecord* node(common::StackId stack) const;
    const format::CodeRecord* code(common::CodeId id) const;
    Location locate(const format::StackNodeRecord& frame) const;
    void indexCodes();
    void indexStacks();

    const format::Capture* m_capture;  // a pointer, so that a CaptureAnalysis can rebuild its Symbols
    format::FlatMap<std::uint32_t> m_stackIndex;  // stack id -> index in m_capture.stacks
    format::FlatMap<std::uint32_t> m_codeIndex;   // code id -> index in m_capture.codes
    format::FlatMap<std::uint32_t> m_canonical;   // code id -> smallest id with the same content
    format::FlatMap<std::uint32_t> m_canonicalStack;  // stack id -> smallest id with the same frames
    std::vector<LineTable> m_lines;                   // by index in m_capture.codes
};

}  // namespace memhound::analysis
