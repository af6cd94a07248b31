#pragma once
// Reading a whole capture into memory: for tests, fuzzing and small captures. Reports stream
// instead (event_stream.h). Corrupt input throws common::FormatError naming the byte offset;
// a partial last frame (the process was killed while writing) is not an error: the capture is
// readable up to its last complete frame and says so (complete = false, truncatedAt).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/ids.h"
#include "core/format/records.h"

namespace memhound::format {

struct Event {
    std::uint64_t seq;
    std::uint64_t address;
    std::uint64_t size;
    common::StackId stack;
    common::ThreadId thread;
    EventKind kind;
    common::Allocator allocator;
};

struct Capture {
    Header header;
    std::vector<CodeRecord> codes;        // sorted by id, unique
    std::vector<StackNodeRecord> stacks;  // sorted by id, unique
    std::vector<ThreadRecord> threads;    // sorted by id, one per id (its last name); events may
                                          // come from a thread without a record (no name known)
    std::vector<NativeFrameRecord> natives;  // sorted by id (version 4 on)
    std::vector<MappingRecord> mappings;     // sorted by start (version 4 on)
    std::vector<Event> events;            // sorted by seq (empty when the capture is streamed)
    std::vector<Sample> samples;          // in file order
    std::optional<Trailer> trailer;
    bool complete = false;                   // ends with a trailer frame
    std::optional<std::size_t> truncatedAt;  // where readable data ends, when not complete
};

// Reads a whole capture held in memory (tests, fuzzing). Throws common::FormatError when its
// content is invalid.
Capture readCaptureBytes(std::string_view bytes);

}  // namespace memhound::format
