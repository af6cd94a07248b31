// Capture file format, version 4 (kFormatVersion in records.h: bump it on every change here).
//
// Fixed-width integers are little-endian. varint = unsigned LEB128, svarint = zigzag varint,
// string = varint byte length then the bytes. checksum32 is common/hash.h's.
//
// File header (20 bytes, then its payload):
//   "MEMHOUND" | u32 version | u32 payload size | u32 checksum32(payload) | payload
//   payload: string pythonVersion, svarint pid, varint argc, argc x string argv,
//            svarint startTimeNs, u8 mode (0 full, 1 sampled), varint sampleBytes,
//            u8 native (0 or 1; version 3 on: the C allocator was traced too),
//            u8 nativeFrames (0 or 1; version 4 on: native events carry their C call stack)
//   Version 3 also allows allocator 5 (Tracked: PyTraceMalloc_Track) in events; versions 1 and 2
//   are read as before (native = 0). Version 4 adds nativeFrames and definition records 4 and 5;
//   versions 1 to 3 are read as before (nativeFrames = 0, no records 4 or 5).
//
// Then frames up to the end of the file. Frame (13 bytes, then its payload):
//   u8 type | u32 payload size | u32 checksum32(payload) | u32 checksum32(the 9 bytes before) | payload
//   The checksum of the frame header tells a corrupt size field (an error) from a frame cut off
//   by the end of the file (the writer was killed: the reader keeps every frame before it).
//   type 1 Batch:   varint thread id, varint event count, varint smallest seq (0 if no events),
//                   varint (largest seq - smallest seq), then one zstd frame (declaring its
//                   content size) holding a batch body, below. Version 1 had the zstd frame only;
//                   the prefix lets a reader order batches by seq without decompressing them.
//   type 2 Sample:  svarint timeNs, varint seq, varint rssBytes
//   type 3 Trailer: varint lastSeq, svarint endTimeNs; only on a clean stop, always the last frame
//
// Batch body: the events of one thread's buffer, preceded by the definitions they introduce.
//   varint thread id
//   string definitions: a sequence of records, each a tag byte then its fields:
//     1 Code:      varint id, string filename, string name, svarint firstLine, string lineTable
//     2 StackNode: varint id (> 0), varint parent (0 = none), varint code, svarint instrOffset
//     3 Thread:    varint id, varint nativeId, string name
//     4 NativeFrame: varint id (> 0, never a StackNode's id), varint parent (a NativeFrame, a
//                  StackNode, or 0 = no Python frame), varint return address (> 0). An event's
//                  stack may name a NativeFrame: its C call stack, innermost frame first, then
//                  the Python stack it was called from. Interned per thread as stack nodes are.
//     5 Mapping:   string path, varint bias, varint start, varint (end - start) (> 0),
//                  string buildId (raw bytes, empty when none). A loaded object: an address a
//                  in [start, end) is at virtual address a - bias of the ELF file. Written by
//                  the writer thread at start and after each change of the loaded objects (an
//                  empty batch of thread 0 carries them); the same record may come again.
//   the events, column-wise: see event_columns.cpp.
//   Definitions may come in a later frame than the events that use them (another thread's buffer
//   can be flushed after this one): references are checked once the whole file is read.
#include "core/format/encoding.h"

#include "core/common/hash.h"
#include "core/common/varint.h"
#include "core/format/decoder.h"
#include "core/format/event_columns.h"

namespace memhound::format {
namespace {

enum class DefinitionTag : std::uint8_t { Code = 1, StackNode = 2, Thread = 3, NativeFrame = 4, Mapping = 5 };

void appendString(std::string& out, std::string_view s) {
    common::appendVarint(out, s.size());
    out.append(s);
}

}  // namespace

void encodeCode(std::string& out, const CodeRecord& code) {
    out.push_back(static_cast<char>(DefinitionTag::Code));
    common::appendVarint(out, code.id.value);
    appendString(out, code.filename);
    appendString(out, code.name);
    common::appendVarint(out, common::zigzagEncode(code.firstLine));
    appendString(out, code.lineTable);
}

void encodeStackNode(std::string& out, const StackNodeRecord& node) {
    out.push_back(static_cast<char>(DefinitionTag::StackNode));
    common::appendVarint(out, node.id.value);
    common::appendVarint(out, node.parent.value);
    common::appendVarint(out, node.code.value);
    common::appendVarint(out, common::zigzagEncode(node.instrOffset));
}

void encodeThread(std::string& out, const ThreadRecord& thread) {
    out.push_back(static_cast<char>(DefinitionTag::Thread));
    common::appendVarint(out, thread.id.value);
    common::appendVarint(out, thread.nativeId);
    appendString(out, thread.name);
}

void encodeNativeFrame(std::string& out, const NativeFrameRecord& frame) {
    out.push_back(static_cast<char>(DefinitionTag::NativeFrame));
    common::appendVarint(out, frame.id.value);
    common::appendVarint(out, frame.parent.value);
    common::appendVarint(out, frame.address);
}

void encodeMapping(std::string& out, const MappingRecord& mapping) {
    out.push_back(static_cast<char>(DefinitionTag::Mapping));
    appendString(out, mapping.path);
    common::appendVarint(out, mapping.bias);
    common::appendVarint(out, mapping.start);
    common::appendVarint(out, mapping.end - mapping.start);
    appendString(out, mapping.buildId);
}

namespace detail {

void putU32(std::string& out, std::uint32_t value) {
    for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

std::uint32_t getU32(const char* bytes) {
    std::uint32_t value = 0;
    for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
    return value;
}

std::string encodeFileHeader(const Header& header) {
    std::string fields;
    appendString(fields, header.pythonVersion);
    common::appendVarint(fields, common::zigzagEncode(header.pid));
    common::appendVarint(fields, header.argv.size());
    for (const std::string& arg : header.argv) appendString(fields, arg);
    common::appendVarint(fields, common::zigzagEncode(header.startTimeNs));
    fields.push_back(static_cast<char>(header.mode));
    common::appendVarint(fields, header.sampleBytes);
    fields.push_back(static_cast<char>(header.native ? 1 : 0));
    fields.push_back(static_cast<char>(header.nativeFrames ? 1 : 0));

    std::string out(kMagic);
    putU32(out, kFormatVersion);
    putU32(out, static_cast<std::uint32_t>(fields.size()));
    putU32(out, common::checksum32(fields.data(), fields.size()));
    return out + fields;
}

void appendFrame(std::string& out, FrameType type, std::string_view payload) {
    std::size_t start = out.size();
    out.push_back(static_cast<char>(type));
    putU32(out, static_cast<std::uint32_t>(payload.size()));
    putU32(out, common::checksum32(payload.data(), payload.size()));
    putU32(out, common::checksum32(out.data() + start, 9));
    out.append(payload);
}

bool parseFrameHeader(std::string_view bytes, FrameHeader& header) {
    if (bytes.size() < kFrameHeaderSize) return false;
    if (getU32(bytes.data() + 9) != common::checksum32(bytes.data(), 9)) return false;
    auto type = static_cast<std::uint8_t>(bytes[0]);
    if (type < 1 || type > 3) return false;
    header.type = static_cast<FrameType>(type);
    header.payloadSize = getU32(bytes.data() + 1);
    header.payloadChecksum = getU32(bytes.data() + 5);
    return header.payloadSize <= kMaxFramePayload;
}

void encodeBatch(std::string& out, EventColumnEncoder& columns, common::ThreadId thread,
                 std::span<const RawEvent> events, std::string_view definitions) {
    common::appendVarint(out, thread.value);
    appendString(out, definitions);
    columns.encode(out, events);
}

void encodeSample(std::string& out, const Sample& sample) {
    common::appendVarint(out, common::zigzagEncode(sample.timeNs));
    common::appendVarint(out, sample.seq);
    common::appendVarint(out, sample.rssBytes);
}

void encodeTrailer(std::string& out, const Trailer& trailer) {
    common::appendVarint(out, trailer.lastSeq);
    common::appendVarint(out, common::zigzagEncode(trailer.endTimeNs));
}

namespace {

void decodeDefinition(Decoder& in, DefinitionLog& log) {
    auto tag = static_cast<DefinitionTag>(in.byte());
    switch (tag) {
        case DefinitionTag::Code: {
            CodeRecord& code = log.codes.emplace_back(CodeRecord{}, in.offset()).record;
            code.id = common::CodeId(in.id("code"));
            code.filename = in.string();
            code.name = in.string();
            code.firstLine = in.int32("first line");
            code.lineTable = in.string();
            return;
        }
        case DefinitionTag::StackNode: {
            StackNodeRecord& node = log.stacks.emplace_back(StackNodeRecord{}, in.offset()).record;
            node.id = common::StackId(in.id("stack"));
            node.parent = common::StackId(in.id("stack"));
            node.code = common::CodeId(in.id("code"));
            node.instrOffset = in.int32("instruction offset");
            if (node.id.value == 0) in.fail("stack node with id 0");
            return;
        }
        case DefinitionTag::Thread: {
            ThreadRecord& thread = log.threads.emplace_back(ThreadRecord{}, in.offset()).record;
            thread.id = common::ThreadId(in.id("thread"));
            thread.nativeId = in.varint();
            thread.name = in.string();
            return;
        }
        case DefinitionTag::NativeFrame: {
            NativeFrameRecord& frame = log.natives.emplace_back(NativeFrameRecord{}, in.offset()).record;
            frame.id = common::StackId(in.id("native frame"));
            frame.parent = common::StackId(in.id("stack"));
            frame.address = in.varint();
            if (frame.id.value == 0) in.fail("native frame with id 0");
            if (frame.address == 0) in.fail("native frame with address 0");
            return;
        }
        case DefinitionTag::Mapping: {
            MappingRecord& mapping = log.mappings.emplace_back(MappingRecord{}, in.offset()).record;
            mapping.path = in.string();
            mapping.bias = in.varint();
            mapping.start = in.varint();
            const std::uint64_t length = in.varint();
            if (length == 0 || length > ~std::uint64_t{0} - mapping.start) in.fail("mapping with an invalid range");
            mapping.end = mapping.start + length;
            mapping.buildId = in.string();
            return;
        }
    }
    in.fail("unknown definition tag " + std::to_string(static_cast<int>(tag)));
}

void decodeDefinitions(std::string_view bytes, std::size_t frameOffset, DefinitionLog& log) {
    Decoder in(bytes, frameOffset, "definitions");
    while (!in.atEnd()) decodeDefinition(in, log);
}

void noteStackUses(std::span<const Event> events, std::size_t frameOffset, DefinitionLog& log) {
    common::StackId last(0);
    for (const Event& event : events) {
        if (event.stack == last) continue;
        log.noteStackUse(event.stack, frameOffset);
        last = event.stack;
    }
}

}  // namespace

void encodeBatchPrefix(std::string& out, const BatchPrefix& prefix) {
    common::appendVarint(out, prefix.thread.value);
    common::appendVarint(out, prefix.count);
    common::appendVarint(out, prefix.minSeq);
    common::appendVarint(out, prefix.maxSeq - prefix.minSeq);
}

BatchPrefix decodeBatchPrefix(std::string_view payload, std::size_t frameOffset) {
    Decoder in(payload, frameOffset, "batch");
    BatchPrefix prefix;
    prefix.thread = common::ThreadId(in.id("thread"));
    prefix.count = in.varint();
    prefix.minSeq = in.varint();
    std::uint64_t span = in.varint();
    if (span > ~std::uint64_t{0} - prefix.minSeq) in.fail("sequence range out of bounds");
    prefix.maxSeq = prefix.minSeq + span;
    prefix.size = payload.size() - in.remaining();
    return prefix;
}

common::ThreadId decodeBatchBody(std::string_view body, std::size_t frameOffset, DefinitionLog& log,
                                 std::vector<Event>* events) {
    Decoder in(body, frameOffset, "batch");
    common::ThreadId thread(in.id("thread"));
    decodeDefinitions(in.string(), frameOffset, log);
    if (events == nullptr) return thread;
    std::size_t first = events->size();
    decodeEventColumns(in, thread, *events);
    noteStackUses(std::span(*events).subspan(first), frameOffset, log);
    return thread;
}

std::size_t definitionsEnd(std::string_view start, std::size_t frameOffset) {
    common::ByteCursor cursor(start);
    cursor.varint();
    std::uint64_t size = cursor.varint();
    if (!cursor.ok()) return 0;
    std::size_t end = start.size() - cursor.remaining();
    if (size > kMaxBatchRawSize) throw common::FormatError("corrupt batch: definitions too large", frameOffset);
    return end + static_cast<std::size_t>(size);
}

Sample decodeSample(std::string_view payload, std::size_t frameOffset) {
    Decoder in(payload, frameOffset, "sample");
    Sample sample;
    sample.timeNs = in.svarint();
    sample.seq = in.varint();
    sample.rssBytes = in.varint();
    in.expectEnd();
    return sample;
}

Trailer decodeTrailer(std::string_view payload, std::size_t frameOffset) {
    Decoder in(payload, frameOffset, "trailer");
    Trailer trailer;
    trailer.lastSeq = in.varint();
    trailer.endTimeNs = in.svarint();
    in.expectEnd();
    return trailer;
}

Header decodeHeaderFields(std::string_view payload, std::uint32_t version, std::size_t offset) {
    Decoder in(payload, offset, "file header");
    Header header;
    header.version = version;
    header.pythonVersion = in.string();
    header.pid = in.svarint();
    std::uint64_t argc = in.varint();
    if (argc > payload.size()) in.fail("argument count larger than the header");
    for (std::uint64_t i = 0; i < argc; ++i) header.argv.emplace_back(in.string());
    header.startTimeNs = in.svarint();
    std::uint8_t mode = in.byte();
    if (mode > static_cast<std::uint8_t>(Mode::Sampled)) in.fail("unknown mode " + std::to_string(mode));
    header.mode = static_cast<Mode>(mode);
    header.sampleBytes = in.varint();
    if (version >= 3) {
        std::uint8_t native = in.byte();
        if (native > 1) in.fail("invalid native flag " + std::to_string(native));
        header.native = native == 1;
    }
    if (version >= 4) {
        std::uint8_t frames = in.byte();
        if (frames > 1) in.fail("invalid native frames flag " + std::to_string(frames));
        header.nativeFrames = frames == 1;
    }
    in.expectEnd();
    return header;
}

}  // namespace detail
}  // namespace memhound::format
