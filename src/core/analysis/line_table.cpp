// The 3.11 location table is a sequence of entries, each covering 1-8 code units. An entry starts
// with a byte whose top bit is set: bits 3-6 hold the entry's form, bits 0-2 its length minus 1.
// Forms: 15 no location; 14 long (line delta as signed varint, then end line, column and end
// column as varints); 13 line delta only (signed varint); 10-12 line delta of form-10 with two
// column bytes; 0-9 same line with one column byte. Varints hold 6 bits per byte, bit 6 meaning
// "more"; a signed varint keeps its sign in the lowest bit. Only lines matter here: columns are skipped.
#include "core/analysis/line_table.h"

#include <algorithm>
#include <cstdint>
#include <optional>

namespace memhound::analysis {
namespace {

class EntryReader {
public:
    explicit EntryReader(std::string_view bytes) : m_bytes(bytes) {}

    bool atEnd() const { return m_pos >= m_bytes.size(); }
    std::optional<std::uint8_t> byte() {
        if (atEnd()) return std::nullopt;
        return static_cast<std::uint8_t>(m_bytes[m_pos++]);
    }
    std::optional<std::uint64_t> varint() {
        std::uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 6) {
            std::optional<std::uint8_t> b = byte();
            if (!b || (*b & 0x80)) return std::nullopt;  // an entry start inside a varint: malformed
            value |= static_cast<std::uint64_t>(*b & 63) << shift;
            if (!(*b & 64)) return value;
        }
        return std::nullopt;
    }
    std::optional<std::int64_t> signedVarint() {
        std::optional<std::uint64_t> raw = varint();
        if (!raw) return std::nullopt;
        auto magnitude = static_cast<std::int64_t>(*raw >> 1);
        return (*raw & 1) ? -magnitude : magnitude;
    }
    bool skipVarints(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i)
            if (!varint()) return false;
        return true;
    }
    bool skipBytes(std::size_t n) {
        if (m_bytes.size() - m_pos < n) return false;
        m_pos += n;
        return true;
    }

private:
    std::string_view m_bytes;
    std::size_t m_pos = 0;
};

// Applies one entry's line change to `line`; returns false on a malformed entry.
bool readLine(EntryReader& in, unsigned form, std::int64_t& line, bool& hasLocation) {
    hasLocation = form != 15;
    if (form == 15) return true;
    if (form == 14 || form == 13) {
        std::optional<std::int64_t> delta = in.signedVarint();
        if (!delta) return false;
        line += *delta;
        return form == 13 || in.skipVarints(3);
    }
    if (form >= 10) {
        line += form - 10;
        return in.skipBytes(2);
    }
    return in.skipBytes(1);
}

}  // namespace

LineTable::LineTable(std::string_view table, std::int32_t firstLine) : m_firstLine(firstLine) {
    EntryReader in(table);
    std::int64_t line = firstLine;
    std::uint32_t offset = 0;
    while (!in.atEnd()) {
        std::optional<std::uint8_t> head = in.byte();
        if (!head || !(*head & 0x80)) break;
        bool hasLocation = false;
        if (!readLine(in, (*head >> 3) & 15, line, hasLocation)) break;
        offset += (*head & 7) + 1;
        bool valid = hasLocation && line > 0 && line <= INT32_MAX;
        m_ranges.push_back({offset, valid ? static_cast<std::int32_t>(line) : 0});
    }
}

std::int32_t LineTable::lineFor(std::int32_t instrOffset) const {
    if (instrOffset < 0) return m_firstLine;
    auto it = std::upper_bound(m_ranges.begin(), m_ranges.end(), static_cast<std::uint32_t>(instrOffset),
                               [](std::uint32_t offset, const Range& range) { return offset < range.end; });
    return it == m_ranges.end() ? 0 : it->line;
}

}  // namespace memhound::analysis
