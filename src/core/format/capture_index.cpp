#include "core/format/capture_index.h"

#include <algorithm>
#include <string>

#include "core/common/error.h"
#include "core/common/hash.h"
#include "core/format/batch_decoding.h"
#include "core/format/encoding.h"

namespace memhound::format {
namespace {

using common::FormatError;

class Indexer {
public:
    explicit Indexer(const ByteSource& source) : m_source(source) {}

    CaptureIndex run() {
        m_pos = readFileHeader();
        while (m_pos < m_source.size() && readFrame()) {
        }
        m_index.complete = m_index.trailer.has_value();
        if (!m_index.complete) m_index.truncatedAt = m_pos;
        for (const BatchEntry& batch : m_index.batches) m_index.eventCount += batch.count;
        return std::move(m_index);
    }

private:
    std::size_t readFileHeader() {
        std::string_view start = m_source.read(0, detail::kFileHeaderSize, m_buffer);
        if (start.empty()) throw FormatError("empty file: not a memhound capture", 0);
        std::size_t magicPart = std::min(start.size(), detail::kMagic.size());
        if (start.substr(0, magicPart) != detail::kMagic.substr(0, magicPart))
            throw FormatError("not a memhound capture (bad magic)", 0);
        if (start.size() < detail::kFileHeaderSize) throw FormatError("file header cut short", start.size());
        std::uint32_t version = detail::getU32(start.data() + 8);
        if (version == 0) throw FormatError("invalid capture format version 0", 8);
        if (version > kFormatVersion)
            throw FormatError("capture format version " + std::to_string(version) +
                                  " is newer than this memhound reads (" + std::to_string(kFormatVersion) +
                                  "); upgrade memhound",
                              8);
        std::uint32_t size = detail::getU32(start.data() + 12);
        std::uint32_t checksum = detail::getU32(start.data() + 16);
        if (size > m_source.size() - detail::kFileHeaderSize)
            throw FormatError("file header cut short or its size corrupt", 12);
        std::string_view fields = m_source.read(detail::kFileHeaderSize, size, m_buffer);
        if (common::checksum32(fields.data(), fields.size()) != checksum)
            throw FormatError("file header checksum mismatch", 12);
        m_index.header = detail::decodeHeaderFields(fields, version, detail::kFileHeaderSize);
        return detail::kFileHeaderSize + size;
    }

    // Indexes the frame at m_pos; returns false when it is cut off by the end of the file.
    bool readFrame() {
        std::size_t rest = m_source.size() - m_pos;
        if (rest < detail::kFrameHeaderSize) return false;
        std::string_view head =
            m_source.read(m_pos, detail::kFrameHeaderSize + detail::kMaxBatchPrefixSize, m_buffer);
        detail::FrameHeader frame;
        if (!detail::parseFrameHeader(head, frame)) throw FormatError("corrupt frame header", m_pos);
        if (frame.payloadSize > rest - detail::kFrameHeaderSize) return false;
        if (m_index.trailer) throw FormatError("data after the trailer frame", m_pos);
        if (frame.type == detail::FrameType::Batch) {
            m_index.batches.push_back(batchEntry(frame, head.substr(detail::kFrameHeaderSize)));
        } else {
            std::string_view payload = checkedPayload(frame);
            if (frame.type == detail::FrameType::Sample) {
                m_index.samples.push_back(detail::decodeSample(payload, m_pos));
            } else {
                m_index.trailer = detail::decodeTrailer(payload, m_pos);
            }
        }
        m_pos += detail::kFrameHeaderSize + frame.payloadSize;
        return true;
    }

    std::string_view checkedPayload(const detail::FrameHeader& frame) {
        std::string_view payload = m_source.read(m_pos + detail::kFrameHeaderSize, frame.payloadSize, m_buffer);
        if (common::checksum32(payload.data(), payload.size()) != frame.payloadChecksum)
            throw FormatError("frame checksum mismatch", m_pos);
        return payload;
    }

    BatchEntry batchEntry(const detail::FrameHeader& frame, std::string_view start) {
        BatchEntry entry;
        entry.offset = m_pos;
        entry.payloadSize = frame.payloadSize;
        entry.payloadChecksum = frame.payloadChecksum;
        if (m_index.header.version >= 2) {
            detail::BatchPrefix prefix = detail::decodeBatchPrefix(start.substr(0, frame.payloadSize), m_pos);
            entry.prefixSize = prefix.size;
            entry.thread = prefix.thread;
            entry.count = prefix.count;
            entry.minSeq = prefix.minSeq;
            entry.maxSeq = prefix.maxSeq;
            return entry;
        }
        // Version 1: the sequence numbers are only known by decoding the batch.
        detail::DecodedBatch decoded = detail::decodeBatch(m_source, entry, m_scratch);
        entry.thread = decoded.thread;
        entry.count = decoded.events.size();
        if (!decoded.events.empty()) {
            entry.minSeq = decoded.events.front().seq;
            entry.maxSeq = decoded.events.back().seq;
        }
        return entry;
    }

    const ByteSource& m_source;
    std::size_t m_pos = 0;
    CaptureIndex m_index;
    std::string m_buffer;
    detail::BatchScratch m_scratch;
};

}  // namespace

CaptureIndex indexCapture(const ByteSource& source) { return Indexer(source).run(); }

}  // namespace memhound::format
