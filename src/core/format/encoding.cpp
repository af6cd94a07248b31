// Capture file format, version 1 (kFormatVersion in records.h: bump it on every change here).
//
// Fixed-width integers are little-endian. varint = unsigned LEB128, svarint = zigzag varint,
// string = varint byte length then the bytes. checksum32 is common/hash.h's.
//
// File header (20 bytes, then its payload):
//   "MEMHOUND" | u32 version | u32 payload size | u32 checksum32(payload) | payload
//   payload: string pythonVersion, svarint pid, varint argc, argc x string argv,
//            svarint startTimeNs, u8 mode (0 full, 1 sampled), varint sampleBytes
//
// Then frames up to the end of the file. Frame (13 bytes, then its payload):
//   u8 type | u32 payload size | u32 checksum32(payload) | u32 checksum32(the 9 bytes before) | payload
//   The checksum of the frame header tells a corrupt size field (an error) from a frame cut off
//   by the end of the file (the writer was killed: the reader keeps every frame before it).
//   type 1 Batch:   one zstd frame (declaring its content size) holding a batch body, below
//   type 2 Sample:  svarint timeNs, varint seq, varint rssBytes
//   type 3 Trailer: varint lastSeq, svarint endTimeNs; only on a clean stop, always the last frame
//
// Batch body: the events of one thread's buffer, preceded by the definitions they introduce.
//   varint thread id
//   string definitions: a sequence of records, each a tag byte then its fields:
//     1 Code:      varint id, string filename, string name, svarint firstLine, string lineTable
//     2 StackNode: varint id (> 0), varint parent (0 = none), varint code, svarint instrOffset
//     3 Thread:    varint id, varint nativeId, string name
//   varint event count N, then 7 columns, each a varint byte length followed by its bytes:
//     flags:       N bytes: bit 0 kind (0 alloc, 1 free), bits 1-3 allocator, bits 4-7 address & 15
//     seq:         varint first seq, then svarint (seq - previous seq - 1) per further event
//     address:     svarint ((address >> 4) - (previous address >> 4)) per event; previous starts at 0
//     alloc size:  varint size, per alloc
//     alloc stack: svarint (stack - previous alloc's stack), per alloc; previous starts at 0
//     free size:   varint size, per free
//     free stack:  svarint (stack - previous free's stack), per free; previous starts at 0
//   Definitions may come in a later frame than the events that use them (another thread's buffer
//   can be flushed after this one): references are checked once the whole file is read.
//   Columns put alike values side by side, so zstd finds the repeats (same stacks and sizes,
//   small pool-local address deltas, seq steps of 1): about 1.5 bytes per alloc+free.
#include "core/format/encoding.h"

#include <zstd.h>

#include <limits>

#include "core/common/error.h"
#include "core/common/hash.h"
#include "core/common/varint.h"

namespace memhound::format {
namespace {

enum class DefinitionTag : std::uint8_t { Code = 1, StackNode = 2, Thread = 3 };

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

namespace {

// A column being written: raw space for the worst case, trimmed when done.
class ColumnWriter {
public:
    explicit ColumnWriter(std::size_t maxValues) : m_bytes(maxValues * 10, '\0') {
        m_pos = reinterpret_cast<std::uint8_t*>(m_bytes.data());
    }
    void put(std::uint64_t value) { m_pos = common::putVarint(m_pos, value); }
    void putSigned(std::int64_t value) { put(common::zigzagEncode(value)); }
    void appendTo(std::string& out) {
        std::size_t used = static_cast<std::size_t>(m_pos - reinterpret_cast<std::uint8_t*>(m_bytes.data()));
        common::appendVarint(out, used);
        out.append(m_bytes.data(), used);
    }

private:
    std::string m_bytes;
    std::uint8_t* m_pos;
};

std::uint8_t eventFlags(const RawEvent& event) {
    return static_cast<std::uint8_t>(static_cast<unsigned>(event.kind) |
                                     (static_cast<unsigned>(event.allocator) << 1) |
                                     ((event.address & 15) << 4));
}

void appendFlagsColumn(std::string& out, std::span<const RawEvent> events) {
    common::appendVarint(out, events.size());
    common::appendVarint(out, events.size());  // the column's byte length, like the other columns
    for (const RawEvent& event : events) out.push_back(static_cast<char>(eventFlags(event)));
}

void appendSeqColumn(std::string& out, std::span<const RawEvent> events) {
    ColumnWriter column(events.size());
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (i == 0) {
            column.put(events[0].seq);
        } else {
            column.putSigned(static_cast<std::int64_t>(events[i].seq - events[i - 1].seq - 1));
        }
    }
    column.appendTo(out);
}

void appendAddressColumn(std::string& out, std::span<const RawEvent> events) {
    ColumnWriter column(events.size());
    std::uint64_t previous = 0;
    for (const RawEvent& event : events) {
        column.putSigned(static_cast<std::int64_t>((event.address >> 4) - previous));
        previous = event.address >> 4;
    }
    column.appendTo(out);
}

// The size and stack columns of the events of one kind.
void appendSizeAndStackColumns(std::string& out, std::span<const RawEvent> events, EventKind kind) {
    ColumnWriter sizes(events.size());
    ColumnWriter stacks(events.size());
    std::uint32_t previousStack = 0;
    for (const RawEvent& event : events) {
        if (event.kind != kind) continue;
        sizes.put(event.size);
        stacks.putSigned(static_cast<std::int64_t>(event.stack) - previousStack);
        previousStack = event.stack;
    }
    sizes.appendTo(out);
    stacks.appendTo(out);
}

}  // namespace

void encodeBatch(std::string& out, common::ThreadId thread, std::span<const RawEvent> events,
                 std::string_view definitions) {
    common::appendVarint(out, thread.value);
    appendString(out, definitions);
    appendFlagsColumn(out, events);
    appendSeqColumn(out, events);
    appendAddressColumn(out, events);
    appendSizeAndStackColumns(out, events, EventKind::Alloc);
    appendSizeAndStackColumns(out, events, EventKind::Free);
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

// A cursor whose failures throw FormatError naming a fixed offset (the frame's).
class Decoder {
public:
    Decoder(std::string_view bytes, std::size_t offset, const char* what)
        : m_cursor(bytes), m_offset(offset), m_what(what) {}

    std::uint64_t varint() { return check(m_cursor.varint()); }
    std::int64_t svarint() { return common::zigzagDecode(varint()); }
    std::uint8_t byte() { return static_cast<std::uint8_t>(check(m_cursor.byte())); }
    std::string_view string() {
        std::uint64_t size = varint();
        if (size > m_cursor.remaining()) fail("string longer than its record");
        return m_cursor.bytes(size);
    }
    std::uint32_t id(const char* kind) {
        std::uint64_t value = varint();
        if (value > std::numeric_limits<std::uint32_t>::max()) fail(std::string(kind) + " id out of range");
        return static_cast<std::uint32_t>(value);
    }
    std::int32_t int32(const char* field) {
        std::int64_t value = svarint();
        if (value < std::numeric_limits<std::int32_t>::min() ||
            value > std::numeric_limits<std::int32_t>::max())
            fail(std::string(field) + " out of range");
        return static_cast<std::int32_t>(value);
    }
    bool atEnd() const { return m_cursor.atEnd(); }
    void expectEnd() {
        if (!m_cursor.atEnd()) fail("unexpected bytes after the last field");
    }
    [[noreturn]] void fail(const std::string& problem) const {
        throw common::FormatError(std::string("corrupt ") + m_what + ": " + problem, m_offset);
    }

private:
    std::uint64_t check(std::uint64_t value) {
        if (!m_cursor.ok()) fail("bad varint or record cut short");
        return value;
    }
    common::ByteCursor m_cursor;
    std::size_t m_offset;
    const char* m_what;
};

void decodeDefinition(Decoder& in, Capture& capture) {
    auto tag = static_cast<DefinitionTag>(in.byte());
    switch (tag) {
        case DefinitionTag::Code: {
            CodeRecord& code = capture.codes.emplace_back();
            code.id = common::CodeId(in.id("code"));
            code.filename = in.string();
            code.name = in.string();
            code.firstLine = in.int32("first line");
            code.lineTable = in.string();
            return;
        }
        case DefinitionTag::StackNode: {
            StackNodeRecord& node = capture.stacks.emplace_back();
            node.id = common::StackId(in.id("stack"));
            node.parent = common::StackId(in.id("stack"));
            node.code = common::CodeId(in.id("code"));
            node.instrOffset = in.int32("instruction offset");
            if (node.id.value == 0) in.fail("stack node with id 0");
            return;
        }
        case DefinitionTag::Thread: {
            ThreadRecord& thread = capture.threads.emplace_back();
            thread.id = common::ThreadId(in.id("thread"));
            thread.nativeId = in.varint();
            thread.name = in.string();
            return;
        }
    }
    in.fail("unknown definition tag " + std::to_string(static_cast<int>(tag)));
}

void decodeDefinitions(std::string_view bytes, std::size_t frameOffset, Capture& capture) {
    Decoder in(bytes, frameOffset, "definitions");
    while (!in.atEnd()) decodeDefinition(in, capture);
}

// Splits the 7 event columns out of the batch body.
struct Columns {
    std::string_view flags, seq, address, allocSize, allocStack, freeSize, freeStack;
};

Columns splitColumns(Decoder& in) {
    std::uint64_t count = in.varint();
    Columns columns;
    columns.flags = in.string();
    if (columns.flags.size() != count) in.fail("event count does not match the flags column");
    for (std::string_view* column : {&columns.seq, &columns.address, &columns.allocSize, &columns.allocStack,
                                     &columns.freeSize, &columns.freeStack})
        *column = in.string();
    in.expectEnd();
    return columns;
}

void decodeEvents(const Columns& columns, common::ThreadId thread, std::size_t frameOffset,
                  std::vector<Event>& events) {
    Decoder seqs(columns.seq, frameOffset, "seq column");
    Decoder addresses(columns.address, frameOffset, "address column");
    Decoder sizes[2] = {{columns.allocSize, frameOffset, "alloc size column"},
                        {columns.freeSize, frameOffset, "free size column"}};
    Decoder stacks[2] = {{columns.allocStack, frameOffset, "alloc stack column"},
                         {columns.freeStack, frameOffset, "free stack column"}};
    std::int64_t previousStack[2] = {0, 0};
    std::uint64_t seq = 0, addressHigh = 0;
    for (std::size_t i = 0; i < columns.flags.size(); ++i) {
        auto flags = static_cast<std::uint8_t>(columns.flags[i]);
        unsigned kind = flags & 1, allocator = (flags >> 1) & 7;
        if (allocator > static_cast<unsigned>(common::Allocator::Mmap))
            seqs.fail("unknown allocator " + std::to_string(allocator));
        seq = i == 0 ? seqs.varint() : seq + 1 + static_cast<std::uint64_t>(seqs.svarint());
        addressHigh += static_cast<std::uint64_t>(addresses.svarint());
        std::int64_t stack = previousStack[kind] + stacks[kind].svarint();
        if (stack < 0 || stack > std::numeric_limits<std::uint32_t>::max())
            stacks[kind].fail("stack id out of range");
        previousStack[kind] = stack;
        events.push_back(Event{seq, (addressHigh << 4) | (flags >> 4), sizes[kind].varint(),
                               common::StackId(static_cast<std::uint32_t>(stack)), thread,
                               static_cast<EventKind>(kind), static_cast<common::Allocator>(allocator)});
    }
    for (Decoder* column : {&seqs, &addresses, &sizes[0], &sizes[1], &stacks[0], &stacks[1]})
        column->expectEnd();
}

}  // namespace

void decodeBatch(std::string_view payload, std::size_t frameOffset, Capture& capture) {
    Decoder in(payload, frameOffset, "batch");
    common::ThreadId thread(in.id("thread"));
    decodeDefinitions(in.string(), frameOffset, capture);
    Columns columns = splitColumns(in);
    capture.events.reserve(capture.events.size() + columns.flags.size());
    decodeEvents(columns, thread, frameOffset, capture.events);
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
    in.expectEnd();
    return header;
}

}  // namespace detail
}  // namespace memhound::format
