#include "core/record/compat.h"

#include "core/record/py_text.h"

#include <cstdint>

namespace memhound::record {
namespace {

void appendCodePoint(std::string& out, std::uint32_t c) {
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

}  // namespace

std::string utf8Of(PyObject* text) {
    std::string out;
    // Code objects and thread names hold ready (non-legacy) strings; anything else reads as empty.
    if (text == nullptr || !PyUnicode_Check(text) || !PyUnicode_IS_READY(text)) return out;
    if (PyUnicode_IS_COMPACT_ASCII(text)) {
        out.assign(static_cast<const char*>(PyUnicode_DATA(text)), static_cast<std::size_t>(PyUnicode_GET_LENGTH(text)));
        return out;
    }
    const int kind = PyUnicode_KIND(text);
    const void* data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(text); ++i) appendCodePoint(out, PyUnicode_READ(kind, data, i));
    return out;
}

}  // namespace memhound::record
