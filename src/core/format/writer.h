#pragma once
// Writing a capture file: the file header at once, then one self-delimiting, checksummed frame
// per call. Never throws: an I/O or compression failure sets failed(), keeps the reason in
// error(), and every later call does nothing (the recorder then stops tracing and warns once).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/common/ids.h"
#include "core/format/event_columns.h"
#include "core/format/records.h"

struct ZSTD_CCtx_s;

namespace memhound::format {

class CaptureWriter {  // used by one thread only (the recorder's writer thread)
public:
    CaptureWriter(int fd, const Header& header);  // takes ownership of fd; writes the header at once
    ~CaptureWriter();
    CaptureWriter(const CaptureWriter&) = delete;
    CaptureWriter& operator=(const CaptureWriter&) = delete;

    // One framed, compressed chunk: the definitions first, then the events of one thread's buffer.
    void writeBatch(common::ThreadId thread, std::span<const RawEvent> events, std::string_view definitions);
    void writeSample(const Sample& sample);
    void finish(const Trailer& trailer);  // trailer frame, then close

    bool failed() const { return m_failed; }
    std::string error() const { return m_error; }
    std::uint64_t bytesWritten() const { return m_bytesWritten; }

private:
    void writeAll(std::string_view bytes);
    void fail(std::string reason);
    void closeFile();

    int m_fd;
    ZSTD_CCtx_s* m_zstd = nullptr;
    detail::EventColumnEncoder m_columns;
    std::string m_body;        // reused: uncompressed batch body
    std::string m_compressed;  // reused: zstd output
    std::string m_payload;     // reused: batch prefix + zstd output
    std::string m_frame;       // reused: frame header + payload
    bool m_failed = false;
    std::string m_error;
    std::uint64_t m_bytesWritten = 0;
};

}  // namespace memhound::format
