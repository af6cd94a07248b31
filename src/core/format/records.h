#pragma once
// The records of a capture file, shared by the recorder (which writes them) and the analysis
// (which reads them). The byte layout is documented in encoding.cpp next to the encoder.
#include <cstdint>
#include <string>
#include <vector>

#include "core/common/ids.h"

namespace memhound::format {

// Bumped on every change of the byte layout; the reader rejects files with a newer version.
inline constexpr std::uint32_t kFormatVersion = 4;

enum class Mode : std::uint8_t { Full = 0, Sampled = 1 };

struct Header {
    std::uint32_t version = kFormatVersion;
    std::string pythonVersion;
    std::int64_t pid = 0;
    std::vector<std::string> argv;
    std::int64_t startTimeNs = 0;
    Mode mode = Mode::Full;
    std::uint64_t sampleBytes = 0;  // mean sampling interval in bytes (Sampled mode only)
    bool native = false;            // the C allocator was traced too (--native; version 3 on)
    bool nativeFrames = false;      // native events carry their C call stack (version 4 on)
};

enum class EventKind : std::uint8_t { Alloc = 0, Free = 1 };

// Fixed-size record written by the hot path into a per-thread buffer; no encoding there.
struct RawEvent {
    std::uint64_t address;
    std::uint64_t size;
    std::uint64_t seq;
    std::uint32_t stack;
    EventKind kind;
    common::Allocator allocator;
    std::uint16_t reserved;
};
static_assert(sizeof(RawEvent) == 32);

struct CodeRecord {
    common::CodeId id;
    std::string filename;
    std::string name;  // co_qualname
    std::int32_t firstLine = 0;
    std::string lineTable;  // co_linetable bytes, CPython 3.11 format
};

struct StackNodeRecord {
    common::StackId id;
    common::StackId parent;  // 0 = outermost frame
    common::CodeId code;
    std::int32_t instrOffset = -1;  // code units (2-byte) from start of co_code; -1 = before first
};

// A C frame (version 4 on). Native frames share the id space of the stack nodes: an event whose
// C call stack was recorded refers to its innermost native frame, whose parent is its caller, and
// so on up to the outermost C frame, whose parent is the Python stack node it was called from
// (0: none). `address` is a return address (the frame's next instruction), the innermost one the
// caller of the allocator.
struct NativeFrameRecord {
    common::StackId id;
    common::StackId parent;
    std::uint64_t address = 0;
};

// A loaded object as it was mapped while recording (version 4 on), for symbolizing native frames
// at read time: its file, load bias (address = bias + the ELF file's virtual address), the
// addresses its loadable segments span, and its GNU build id (empty when it has none).
struct MappingRecord {
    std::string path;
    std::uint64_t bias = 0;
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    std::string buildId;
    bool operator==(const MappingRecord&) const = default;
};

// Re-emitted when a thread is renamed; the reader keeps the last name.
struct ThreadRecord {
    common::ThreadId id;
    std::uint64_t nativeId = 0;
    std::string name;
};

// Periodic, from the writer thread.
struct Sample {
    std::int64_t timeNs = 0;
    std::uint64_t seq = 0;
    std::uint64_t rssBytes = 0;
};

// Written on a clean stop only.
struct Trailer {
    std::uint64_t lastSeq = 0;
    std::int64_t endTimeNs = 0;
};

// Every definition of a capture, checked: what resolving stack ids needs.
struct Definitions {
    std::vector<CodeRecord> codes;        // sorted by id, unique
    std::vector<StackNodeRecord> stacks;  // sorted by id, unique
    std::vector<ThreadRecord> threads;    // sorted by id, one per id (its last name); events may
                                          // come from a thread without a record (no name known)
    std::vector<NativeFrameRecord> natives;  // sorted by id, unique, no id shared with `stacks`
    std::vector<MappingRecord> mappings;     // sorted by start, identical ones once
};

// Encoders for the rare definition records; the recorder appends them into a per-thread side
// string that it passes to CaptureWriter::writeBatch.
void encodeCode(std::string& out, const CodeRecord& code);
void encodeStackNode(std::string& out, const StackNodeRecord& node);
void encodeThread(std::string& out, const ThreadRecord& thread);
void encodeNativeFrame(std::string& out, const NativeFrameRecord& frame);
void encodeMapping(std::string& out, const MappingRecord& mapping);

}  // namespace memhound::format
