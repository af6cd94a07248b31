#include "core/format/batch_decoding.h"

#include <zstd.h>

#include <algorithm>

#include "core/common/error.h"
#include "core/common/hash.h"
#include "core/format/encoding.h"

namespace memhound::format::detail {
namespace {

using common::FormatError;

std::string_view checkedPayload(const ByteSource& source, const BatchEntry& batch, BatchScratch& scratch) {
    std::string_view payload = source.read(batch.offset + kFrameHeaderSize, batch.payloadSize, scratch.payload);
    if (payload.size() != batch.payloadSize)
        throw FormatError("batch frame cut short while reading", batch.offset);
    if (common::checksum32(payload.data(), payload.size()) != batch.payloadChecksum)
        throw FormatError("frame checksum mismatch", batch.offset);
    return payload.substr(batch.prefixSize);
}

std::size_t contentSize(std::string_view compressed, std::size_t frame) {
    unsigned long long rawSize = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
    if (rawSize == ZSTD_CONTENTSIZE_ERROR || rawSize == ZSTD_CONTENTSIZE_UNKNOWN)
        throw FormatError("corrupt batch frame: not a zstd frame with a content size", frame);
    if (rawSize > kMaxBatchRawSize) throw FormatError("corrupt batch frame: too large", frame);
    return static_cast<std::size_t>(rawSize);
}

std::string_view decompressWhole(std::string_view compressed, std::size_t frame, BatchScratch& scratch) {
    std::size_t rawSize = contentSize(compressed, frame);
    scratch.body.resize(rawSize);
    std::size_t got = ZSTD_decompressDCtx(scratch.zstd(), scratch.body.data(), rawSize, compressed.data(),
                                          compressed.size());
    if (ZSTD_isError(got) || got != rawSize) throw FormatError("corrupt batch frame: zstd cannot decompress it", frame);
    return scratch.body;
}

// Decompresses the first `target` bytes of the body into scratch.body (continuing from `out`).
void decompressUpTo(ZSTD_DCtx* zstd, ZSTD_inBuffer& in, ZSTD_outBuffer& out, std::size_t target, std::size_t frame) {
    out.size = target;
    while (out.pos < out.size) {
        std::size_t before = out.pos + in.pos;
        std::size_t status = ZSTD_decompressStream(zstd, &out, &in);
        bool stuck = out.pos + in.pos == before || (status == 0 && out.pos < out.size);
        if (ZSTD_isError(status) || stuck) throw FormatError("corrupt batch frame: zstd cannot decompress it", frame);
    }
}

// Decompresses only as far as the thread and definitions reach (the events are not needed).
std::string_view decompressDefinitions(std::string_view compressed, std::size_t frame, BatchScratch& scratch) {
    std::size_t rawSize = contentSize(compressed, frame);
    ZSTD_DCtx* zstd = scratch.zstd();
    ZSTD_DCtx_reset(zstd, ZSTD_reset_session_only);
    scratch.body.resize(rawSize);
    ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
    ZSTD_outBuffer out{scratch.body.data(), 0, 0};
    std::size_t target = std::min<std::size_t>(rawSize, 64);
    while (true) {
        decompressUpTo(zstd, in, out, target, frame);
        std::size_t end = definitionsEnd(std::string_view(scratch.body.data(), out.pos), frame);
        if (end > rawSize || (end == 0 && target == rawSize))
            throw FormatError("corrupt batch: definitions longer than the batch", frame);
        if (end != 0 && out.pos >= end) return std::string_view(scratch.body.data(), end);
        target = end != 0 ? end : std::min(rawSize, 2 * target);
    }
}

void sortBySeq(std::vector<Event>& events, std::size_t first) {
    auto bySeq = [](const Event& a, const Event& b) { return a.seq < b.seq; };
    // Sequence numbers are unique, so an unstable sort gives the one order.
    if (!std::is_sorted(events.begin() + static_cast<std::ptrdiff_t>(first), events.end(), bySeq))
        std::sort(events.begin() + static_cast<std::ptrdiff_t>(first), events.end(), bySeq);
}

void checkAgainstPrefix(const BatchEntry& batch, common::ThreadId thread, std::span<const Event> events) {
    if (batch.prefixSize == 0) return;  // version 1: the index took these from the events
    bool agrees = thread == batch.thread && events.size() == batch.count &&
                  (events.empty() || (events.front().seq == batch.minSeq && events.back().seq == batch.maxSeq));
    if (!agrees) throw FormatError("corrupt batch frame: its prefix does not match its events", batch.offset);
}

}  // namespace

BatchScratch::BatchScratch() = default;
BatchScratch::~BatchScratch() { ZSTD_freeDCtx(m_zstd); }

ZSTD_DCtx* BatchScratch::zstd() {
    if (m_zstd == nullptr) m_zstd = ZSTD_createDCtx();
    if (m_zstd == nullptr) throw common::Error("cannot create a zstd decompression context");
    return m_zstd;
}

common::ThreadId decodeBatchFrame(const ByteSource& source, const BatchEntry& batch, BatchScratch& scratch,
                                  DefinitionLog& log, std::vector<Event>* events) {
    std::string_view compressed = checkedPayload(source, batch, scratch);
    if (events == nullptr) {
        std::string_view start = decompressDefinitions(compressed, batch.offset, scratch);
        common::ThreadId thread = decodeBatchBody(start, batch.offset, log, nullptr);
        if (batch.prefixSize != 0 && thread != batch.thread)
            throw FormatError("corrupt batch frame: its prefix does not match its events", batch.offset);
        return thread;
    }
    std::string_view body = decompressWhole(compressed, batch.offset, scratch);
    std::size_t first = events->size();
    common::ThreadId thread = decodeBatchBody(body, batch.offset, log, events);
    sortBySeq(*events, first);
    checkAgainstPrefix(batch, thread, std::span(*events).subspan(first));
    return thread;
}

DecodedBatch decodeBatch(const ByteSource& source, const BatchEntry& batch, BatchScratch& scratch) {
    DecodedBatch decoded;
    DefinitionLog ignored;
    decoded.thread = decodeBatchFrame(source, batch, scratch, ignored, &decoded.events);
    return decoded;
}

}  // namespace memhound::format::detail
