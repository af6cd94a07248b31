#pragma once
// A bounds-checked reader over one record of a capture file whose every failure throws
// FormatError naming a fixed offset (the frame's: offsets inside compressed payloads would
// mean nothing to a user). Internal to core/format.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "core/common/error.h"
#include "core/common/varint.h"

namespace memhound::format::detail {

class Decoder {
public:
    Decoder(std::string_view bytes, std::size_t offset, const char* what)
        : m_cursor(bytes), m_offset(offset), m_what(what) {}

    std::uint64_t varint() { return check(m_cursor.varint()); }
    std::int64_t svarint() { return common::zigzagDecode(varint()); }
    std::uint8_t byte() { return static_cast<std::uint8_t>(check(m_cursor.byte())); }
    std::string_view string() {
        std::uint64_t size = varint();
        if (size > m_cursor.remaining()) fail("string longer than its record");
        return m_cursor.bytes(size);
    }
    std::uint32_t id(const char* kind) {
        std::uint64_t value = varint();
        if (value > std::numeric_limits<std::uint32_t>::max()) fail(std::string(kind) + " id out of range");
        return static_cast<std::uint32_t>(value);
    }
    std::int32_t int32(const char* field) {
        std::int64_t value = svarint();
        if (value < std::numeric_limits<std::int32_t>::min() ||
            value > std::numeric_limits<std::int32_t>::max())
            fail(std::string(field) + " out of range");
        return static_cast<std::int32_t>(value);
    }
    bool atEnd() const { return m_cursor.atEnd(); }
    std::size_t remaining() const { return m_cursor.remaining(); }
    std::size_t offset() const { return m_offset; }  // the frame's, for errors
    void expectEnd() const {
        if (!m_cursor.atEnd()) fail("unexpected bytes after the last field");
    }
    [[noreturn]] void fail(const std::string& problem) const {
        throw common::FormatError(std::string("corrupt ") + m_what + ": " + problem, m_offset);
    }

private:
    std::uint64_t check(std::uint64_t value) {
        if (!m_cursor.ok()) fail("bad varint or record cut short");
        return value;
    }
    common::ByteCursor m_cursor;
    std::size_t m_offset;
    const char* m_what;
};

}  // namespace memhound::format::detail
