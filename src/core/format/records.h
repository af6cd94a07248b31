#pragma once
// The records of a capture file, shared by the recorder (which writes them) and the analysis
// (which reads them). The byte layout is documented in encoding.cpp next to the encoder.
#include <cstdint>
#include <string>
#include <vector>

#include "core/common/ids.h"

namespace memhound::format {

// Bumped on every change of the byte layout; the reader rejects files with a newer version.
inline constexpr std::uint32_t kFormatVersion = 3;

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
};

// Encoders for the rare definition records; the recorder appends them into a per-thread side
// string that it passes to CaptureWriter::writeBatch.
void encodeCode(std::string& out, const CodeRecord& code);
void encodeStackNode(std::string& out, const StackNodeRecord& node);
void encodeThread(std::string& out, const ThreadRecord& thread);

}  // namespace memhound::format
