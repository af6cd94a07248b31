#pragma once
// LEB128 varints and zigzag encoding used by the capture format and the snapshot file.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace memhound::common {

inline std::uint64_t zigzagEncode(std::int64_t v) {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

inline std::int64_t zigzagDecode(std::uint64_t v) {
    return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// Writes v as a varint at out (needs up to 10 bytes) and returns the byte after it.
inline std::uint8_t* putVarint(std::uint8_t* out, std::uint64_t v) {
    while (v >= 0x80) {
        *out++ = static_cast<std::uint8_t>(v | 0x80);
        v >>= 7;
    }
    *out++ = static_cast<std::uint8_t>(v);
    return out;
}

inline void appendVarint(std::string& out, std::uint64_t v) {
    std::uint8_t tmp[10];
    std::uint8_t* end = putVarint(tmp, v);
    out.append(reinterpret_cast<const char*>(tmp), static_cast<std::size_t>(end - tmp));
}

// A bounds-checked cursor over a byte range. Reads never go past the end: a read that would
// sets the failed flag and returns 0, so decoders check ok() once per record, not per field.
class ByteCursor {
public:
    ByteCursor(const std::uint8_t* begin, const std::uint8_t* end) : m_pos(begin), m_begin(begin), m_end(end) {}
    explicit ByteCursor(std::string_view bytes)
        : ByteCursor(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                     reinterpret_cast<const std::uint8_t*>(bytes.data()) + bytes.size()) {}

    bool ok() const { return !m_failed; }
    bool atEnd() const { return m_pos >= m_end; }
    std::size_t offset() const { return static_cast<std::size_t>(m_pos - m_begin); }
    std::size_t remaining() const { return static_cast<std::size_t>(m_end - m_pos); }

    std::uint64_t varint() {
        std::uint64_t result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (m_pos >= m_end) return fail();
            std::uint8_t byte = *m_pos++;
            result |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
            if (!(byte & 0x80)) return result;
        }
        return fail();
    }
    std::int64_t svarint() { return zigzagDecode(varint()); }

    std::uint8_t byte() {
        if (m_pos >= m_end) return static_cast<std::uint8_t>(fail());
        return *m_pos++;
    }

    std::string_view bytes(std::size_t n) {
        if (remaining() < n) {
            fail();
            return {};
        }
        std::string_view out(reinterpret_cast<const char*>(m_pos), n);
        m_pos += n;
        return out;
    }

    template <typename T>
    T fixed() {
        T v{};
        std::string_view raw = bytes(sizeof(T));
        if (raw.size() == sizeof(T)) __builtin_memcpy(&v, raw.data(), sizeof(T));
        return v;
    }

private:
    std::uint64_t fail() {
        m_failed = true;
        m_pos = m_end;
        return 0;
    }
    const std::uint8_t* m_pos;
    const std::uint8_t* m_begin;
    const std::uint8_t* m_end;
    bool m_failed = false;
};

}  // namespace memhound::common
