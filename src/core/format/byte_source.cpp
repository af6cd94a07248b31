#include "core/format/byte_source.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/common/error.h"

namespace memhound::format {
namespace {

class FileSource final : public ByteSource {
public:
    explicit FileSource(const std::string& path) : m_path(path) {
        m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (m_fd < 0) throw common::Error("cannot open " + path + ": " + std::strerror(errno));
        struct stat info;
        if (::fstat(m_fd, &info) != 0) {
            int error = errno;
            ::close(m_fd);
            throw common::Error("cannot read " + path + ": " + std::strerror(error));
        }
        m_size = info.st_size > 0 ? static_cast<std::size_t>(info.st_size) : 0;
    }
    ~FileSource() override { ::close(m_fd); }

    std::string_view read(std::size_t offset, std::size_t length, std::string& buffer) const override {
        if (offset >= m_size) return {};
        length = std::min(length, m_size - offset);
        buffer.resize(length);
        std::size_t done = 0;
        while (done < length) {
            ssize_t got = ::pread(m_fd, buffer.data() + done, length - done, static_cast<off_t>(offset + done));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw common::Error("cannot read " + m_path + ": " + std::strerror(errno));
            if (got == 0) break;  // the file shrank since it was opened
            done += static_cast<std::size_t>(got);
        }
        return std::string_view(buffer.data(), done);
    }

private:
    std::string m_path;
    int m_fd = -1;
};

class MemorySource final : public ByteSource {
public:
    explicit MemorySource(std::string_view bytes) : m_bytes(bytes) { m_size = m_bytes.size(); }
    std::string_view read(std::size_t offset, std::size_t length, std::string&) const override {
        if (offset >= m_size) return {};
        return std::string_view(m_bytes).substr(offset, length);
    }

private:
    std::string m_bytes;
};

}  // namespace

std::unique_ptr<ByteSource> openFileSource(const std::string& path) { return std::make_unique<FileSource>(path); }

std::unique_ptr<ByteSource> memorySource(std::string_view bytes) { return std::make_unique<MemorySource>(bytes); }

}  // namespace memhound::format
