#pragma once
// Byte-level encoding of a capture file, shared by the writer and the reader. The layout is
// documented in encoding.cpp. Not used outside core/format.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/format/definitions.h"
#include "core/format/event_columns.h"
#include "core/format/reader.h"
#include "core/format/records.h"

namespace memhound::format::detail {

inline constexpr std::string_view kMagic{"MEMHOUND", 8};
// magic, version (u32), header payload size (u32), header payload checksum (u32)
inline constexpr std::size_t kFileHeaderSize = 20;
// type (u8), payload size (u32), payload checksum (u32), checksum of these 9 bytes (u32)
inline constexpr std::size_t kFrameHeaderSize = 13;
// Sanity bounds: a larger size field is corruption, not data.
inline constexpr std::uint32_t kMaxFramePayload = 256u << 20;
inline constexpr std::uint64_t kMaxBatchRawSize = 1ull << 30;

enum class FrameType : std::uint8_t { Batch = 1, Sample = 2, Trailer = 3 };

struct FrameHeader {
    FrameType type;
    std::uint32_t payloadSize;
    std::uint32_t payloadChecksum;
};

void putU32(std::string& out, std::uint32_t value);
std::uint32_t getU32(const char* bytes);

// The whole file header: magic, version, then the header fields.
std::string encodeFileHeader(const Header& header);
// Parses the header fields (after the fixed 20 bytes); throws FormatError at `offset`.
Header decodeHeaderFields(std::string_view payload, std::uint32_t version, std::size_t offset);

// Appends a frame header for `payload` followed by the payload itself.
void appendFrame(std::string& out, FrameType type, std::string_view payload);
// Returns false when the 13 bytes are not a valid frame header (corruption).
bool parseFrameHeader(std::string_view bytes, FrameHeader& header);

// What a version-2 batch frame says before its zstd frame, so that a reader orders the batches
// by sequence number without decompressing them.
struct BatchPrefix {
    common::ThreadId thread;
    std::uint64_t count = 0;
    std::uint64_t minSeq = 0;  // 0 when the batch has no events
    std::uint64_t maxSeq = 0;
    std::size_t size = 0;  // bytes of the prefix itself (decoding only)
};
inline constexpr std::size_t kMaxBatchPrefixSize = 40;  // four varints
void encodeBatchPrefix(std::string& out, const BatchPrefix& prefix);
BatchPrefix decodeBatchPrefix(std::string_view payload, std::size_t frameOffset);

// Uncompressed body of a batch frame: thread, definitions, then the events column-wise.
void encodeBatch(std::string& out, EventColumnEncoder& columns, common::ThreadId thread,
                 std::span<const RawEvent> events, std::string_view definitions);
void encodeSample(std::string& out, const Sample& sample);
void encodeTrailer(std::string& out, const Trailer& trailer);

// Decoders throw FormatError naming `frameOffset` on malformed input. A batch body's definitions
// go to `log` (references are checked once the whole file is read), its events, when `events`
// is not null, are appended there and their stacks noted in the log. Returns the thread.
common::ThreadId decodeBatchBody(std::string_view body, std::size_t frameOffset, DefinitionLog& log,
                                 std::vector<Event>* events);
// How many bytes of a batch body hold its thread and definitions, from its first bytes; 0 when
// `start` is too short to tell.
std::size_t definitionsEnd(std::string_view start, std::size_t frameOffset);
Sample decodeSample(std::string_view payload, std::size_t frameOffset);
Trailer decodeTrailer(std::string_view payload, std::size_t frameOffset);

}  // namespace memhound::format::detail
