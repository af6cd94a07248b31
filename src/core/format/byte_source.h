#pragma once
// Where a capture's bytes come from: a file read with pread (never loaded whole, so reading is
// bounded by what the analysis keeps, not by the file) or bytes already in memory. The size is
// fixed when the source is opened: a capture still being written is read up to that point.
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace memhound::format {

class ByteSource {
public:
    virtual ~ByteSource() = default;
    std::size_t size() const { return m_size; }
    // The bytes [offset, offset + length) clipped to size(); may point into `buffer`, which it
    // reuses. Safe to call from several threads with a buffer each.
    virtual std::string_view read(std::size_t offset, std::size_t length, std::string& buffer) const = 0;

protected:
    std::size_t m_size = 0;
};

// Throws common::Error when the file cannot be opened.
std::unique_ptr<ByteSource> openFileSource(const std::string& path);
// Keeps a copy of the bytes.
std::unique_ptr<ByteSource> memorySource(std::string_view bytes);

}  // namespace memhound::format
