#pragma once
// The first, cheap pass over a capture: the file header, where each batch frame is and which
// sequence numbers it holds, the RSS samples and the trailer. Reading a version-2 file touches
// only frame headers and batch prefixes; a version-1 file has to be decompressed for it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/common/ids.h"
#include "core/format/byte_source.h"
#include "core/format/records.h"

namespace memhound::format {

struct BatchEntry {
    std::size_t offset = 0;  // of the frame header
    std::size_t payloadSize = 0;
    std::size_t prefixSize = 0;  // bytes before the zstd frame (0 in version 1)
    std::uint32_t payloadChecksum = 0;  // checked when the batch is decoded
    common::ThreadId thread;
    std::uint64_t count = 0;  // events
    std::uint64_t minSeq = 0;
    std::uint64_t maxSeq = 0;
};

struct CaptureIndex {
    Header header;
    std::vector<BatchEntry> batches;  // in file order
    std::vector<Sample> samples;      // in file order
    std::optional<Trailer> trailer;
    bool complete = false;                   // ends with a trailer frame
    std::optional<std::size_t> truncatedAt;  // where readable data ends, when not complete
    std::uint64_t eventCount = 0;
};

// Throws common::FormatError (with the offset) on a corrupt file header or frame header, and
// for data after the trailer. Batch payloads are checked when they are decoded.
CaptureIndex indexCapture(const ByteSource& source);

}  // namespace memhound::format
