#pragma once
// Error types of the core. Bindings map FormatError to memhound.CaptureError and the rest to
// memhound.MemhoundError, so the CLI can print one line and exit non-zero.
#include <cstddef>
#include <stdexcept>
#include <string>

namespace memhound::common {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Malformed, truncated or unsupported input file; carries the byte offset of the problem.
class FormatError : public Error {
public:
    FormatError(const std::string& what, std::size_t offset)
        : Error(what + " at offset " + std::to_string(offset)), m_offset(offset) {}
    std::size_t offset() const { return m_offset; }

private:
    std::size_t m_offset;
};

}  // namespace memhound::common
