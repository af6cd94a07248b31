#pragma once
// Line numbers from a CPython 3.11 code object's location table (co_linetable, PEP 626/657),
// decoded once per code object so that resolving a frame is a binary search.
#include <cstdint>
#include <string_view>
#include <vector>

namespace memhound::analysis {

class LineTable {
public:
    LineTable() = default;
    // A malformed table is decoded up to its first bad entry (later offsets have no line).
    LineTable(std::string_view table, std::int32_t firstLine);

    // The line of the instruction at instrOffset (in 2-byte code units; -1 = the frame has not
    // started, which CPython reports as the first line). 0 when the instruction has no line.
    std::int32_t lineFor(std::int32_t instrOffset) const;

private:
    struct Range {
        std::uint32_t end;  // first code unit after the range
        std::int32_t line;  // 0 = no location
    };
    std::vector<Range> m_ranges;  // consecutive, from code unit 0
    std::int32_t m_firstLine = 0;
};

}  // namespace memhound::analysis
