#include "core/format/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/common/error.h"
#include "core/common/hash.h"
#include "core/format/encoding.h"

namespace memhound::format {
namespace {

using common::FormatError;

// Where each batch frame's records end in the capture's vectors, to name the frame of a bad record.
struct BatchSpan {
    std::size_t offset;
    std::size_t codesEnd, stacksEnd, eventsEnd;
};

struct ZstdDCtxDeleter {
    void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};

class CaptureParser {
public:
    explicit CaptureParser(std::string_view bytes) : m_bytes(bytes) {}

    Capture parse() {
        readFileHeader();
        while (m_pos < m_bytes.size() && readFrame()) {
        }
        if (m_capture.trailer && m_pos != m_bytes.size())
            throw FormatError("data after the trailer frame", m_pos);
        m_capture.complete = m_capture.trailer.has_value();
        if (!m_capture.complete) m_capture.truncatedAt = m_pos;
        finish();
        return std::move(m_capture);
    }

private:
    void readFileHeader() {
        if (m_bytes.empty()) throw FormatError("empty file: not a memhound capture", 0);
        std::size_t magicPart = std::min(m_bytes.size(), detail::kMagic.size());
        if (m_bytes.substr(0, magicPart) != detail::kMagic.substr(0, magicPart))
            throw FormatError("not a memhound capture (bad magic)", 0);
        if (m_bytes.size() < detail::kFileHeaderSize)
            throw FormatError("file header cut short", m_bytes.size());
        std::uint32_t version = detail::getU32(m_bytes.data() + 8);
        if (version == 0) throw FormatError("invalid capture format version 0", 8);
        if (version > kFormatVersion)
            throw FormatError("capture format version " + std::to_string(version) +
                                  " is newer than this memhound reads (" + std::to_string(kFormatVersion) +
                                  "); upgrade memhound",
                              8);
        std::uint32_t size = detail::getU32(m_bytes.data() + 12);
        if (size > m_bytes.size() - detail::kFileHeaderSize)
            throw FormatError("file header cut short or its size corrupt", 12);
        std::string_view fields = m_bytes.substr(detail::kFileHeaderSize, size);
        if (common::checksum32(fields.data(), fields.size()) != detail::getU32(m_bytes.data() + 16))
            throw FormatError("file header checksum mismatch", 12);
        m_capture.header = detail::decodeHeaderFields(fields, version, detail::kFileHeaderSize);
        m_pos = detail::kFileHeaderSize + size;
    }

    // Reads the frame at m_pos; returns false when it is cut off by the end of the file.
    bool readFrame() {
        std::string_view rest = m_bytes.substr(m_pos);
        if (rest.size() < detail::kFrameHeaderSize) return false;
        detail::FrameHeader frame;
        if (!detail::parseFrameHeader(rest, frame)) throw FormatError("corrupt frame header", m_pos);
        if (frame.payloadSize > rest.size() - detail::kFrameHeaderSize) return false;
        if (m_capture.trailer) throw FormatError("data after the trailer frame", m_pos);
        std::string_view payload = rest.substr(detail::kFrameHeaderSize, frame.payloadSize);
        if (common::checksum32(payload.data(), payload.size()) != frame.payloadChecksum)
            throw FormatError("frame checksum mismatch", m_pos);
        dispatch(frame.type, payload);
        m_pos += detail::kFrameHeaderSize + frame.payloadSize;
        return true;
    }

    void dispatch(detail::FrameType type, std::string_view payload) {
        switch (type) {
            case detail::FrameType::Batch:
                readBatch(payload);
                return;
            case detail::FrameType::Sample:
                m_capture.samples.push_back(detail::decodeSample(payload, m_pos));
                return;
            case detail::FrameType::Trailer:
                m_capture.trailer = detail::decodeTrailer(payload, m_pos);
                return;
        }
    }

    void readBatch(std::string_view compressed) {
        unsigned long long rawSize = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
        if (rawSize == ZSTD_CONTENTSIZE_ERROR || rawSize == ZSTD_CONTENTSIZE_UNKNOWN)
            throw FormatError("corrupt batch frame: not a zstd frame with a content size", m_pos);
        if (rawSize > detail::kMaxBatchRawSize) throw FormatError("corrupt batch frame: too large", m_pos);
        m_raw.resize(rawSize);
        if (!m_dctx) m_dctx.reset(ZSTD_createDCtx());
        if (!m_dctx) throw common::Error("cannot create a zstd decompression context");
        std::size_t got = ZSTD_decompressDCtx(m_dctx.get(), m_raw.data(), m_raw.size(), compressed.data(),
                                              compressed.size());
        if (ZSTD_isError(got) || got != rawSize)
            throw FormatError("corrupt batch frame: zstd cannot decompress it", m_pos);
        detail::decodeBatch(m_raw, m_pos, m_capture);
        m_batches.push_back(
            {m_pos, m_capture.codes.size(), m_capture.stacks.size(), m_capture.events.size()});
    }

    // Sorts the definitions by id and checks that every reference resolves.
    void finish() {
        sortUnique(m_capture.codes, &BatchSpan::codesEnd, "code");
        checkStackReferences();
        checkStackCycles();
        sortUnique(m_capture.stacks, &BatchSpan::stacksEnd, "stack node");
        checkEventReferences();
        keepLastThreadNames();
        auto bySeq = [](const Event& a, const Event& b) { return a.seq < b.seq; };
        // Sequence numbers are unique, so an unstable sort gives the one order (and is ~2x faster).
        if (!std::is_sorted(m_capture.events.begin(), m_capture.events.end(), bySeq))
            std::sort(m_capture.events.begin(), m_capture.events.end(), bySeq);
    }

    std::size_t frameOfRecord(std::size_t index, std::size_t BatchSpan::*end) const {
        auto it = std::upper_bound(m_batches.begin(), m_batches.end(), index,
                                   [end](std::size_t i, const BatchSpan& span) { return i < span.*end; });
        return it == m_batches.end() ? m_pos : it->offset;
    }

    // Records defined twice must be identical (the same definition re-sent); keeps one of each.
    template <typename Record>
    void sortUnique(std::vector<Record>& records, std::size_t BatchSpan::*end, const char* kind) {
        std::vector<std::size_t> order(records.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::stable_sort(order.begin(), order.end(),
                         [&](std::size_t a, std::size_t b) { return records[a].id < records[b].id; });
        std::vector<Record> unique;
        unique.reserve(records.size());
        for (std::size_t i = 0; i < order.size(); ++i) {
            const Record& record = records[order[i]];
            if (!unique.empty() && unique.back().id == record.id) {
                if (!sameRecord(unique.back(), record))
                    throw FormatError(std::string(kind) + " " + std::to_string(record.id.value) +
                                          " defined twice, differently",
                                      frameOfRecord(order[i], end));
                continue;
            }
            unique.push_back(record);
        }
        records = std::move(unique);
    }

    static bool sameRecord(const CodeRecord& a, const CodeRecord& b) {
        return a.filename == b.filename && a.name == b.name && a.firstLine == b.firstLine &&
               a.lineTable == b.lineTable;
    }
    static bool sameRecord(const StackNodeRecord& a, const StackNodeRecord& b) {
        return a.parent == b.parent && a.code == b.code && a.instrOffset == b.instrOffset;
    }

    // A truncated capture may have lost definitions with its last frame: only a complete one must
    // resolve every reference (the analysis shows unresolved frames as unknown).
    void unresolved(const std::string& what, std::size_t offset) const {
        if (m_capture.complete) throw FormatError(what, offset);
    }

    void checkStackReferences() {
        std::vector<common::StackId> ids;
        ids.reserve(m_capture.stacks.size());
        for (const StackNodeRecord& node : m_capture.stacks) ids.push_back(node.id);
        std::sort(ids.begin(), ids.end());
        std::vector<common::CodeId> codes;  // sorted, as m_capture.codes is
        codes.reserve(m_capture.codes.size());
        for (const CodeRecord& code : m_capture.codes) codes.push_back(code.id);
        for (std::size_t i = 0; i < m_capture.stacks.size(); ++i) {
            const StackNodeRecord& node = m_capture.stacks[i];
            if (!std::binary_search(codes.begin(), codes.end(), node.code))
                unresolved("stack node " + std::to_string(node.id.value) + " refers to unknown code " +
                               std::to_string(node.code.value),
                           frameOfRecord(i, &BatchSpan::stacksEnd));
            if (node.parent.value != 0 && !std::binary_search(ids.begin(), ids.end(), node.parent))
                unresolved("stack node " + std::to_string(node.id.value) + " refers to unknown parent " +
                               std::to_string(node.parent.value),
                           frameOfRecord(i, &BatchSpan::stacksEnd));
        }
    }

    // A parent chain that comes back to a node would make every walk up that stack endless.
    void checkStackCycles() const {
        const std::vector<StackNodeRecord>& stacks = m_capture.stacks;  // in file order here
        std::vector<std::pair<common::StackId, std::size_t>> indexById;
        for (std::size_t i = 0; i < stacks.size(); ++i) indexById.emplace_back(stacks[i].id, i);
        std::sort(indexById.begin(), indexById.end());
        auto parentIndex = [&](std::size_t i) -> std::optional<std::size_t> {
            auto it = std::lower_bound(indexById.begin(), indexById.end(),
                                       std::pair(stacks[i].parent, std::size_t{0}));
            if (stacks[i].parent.value == 0 || it == indexById.end() || it->first != stacks[i].parent)
                return {};
            return it->second;
        };
        enum : std::uint8_t { Unvisited, OnWalk, Done };
        std::vector<std::uint8_t> state(stacks.size(), Unvisited);
        std::vector<std::size_t> walk;
        for (std::size_t i = 0; i < stacks.size(); ++i) {
            walk.clear();
            std::optional<std::size_t> at = i;
            for (; at && state[*at] == Unvisited; at = parentIndex(*at)) {
                state[*at] = OnWalk;
                walk.push_back(*at);
            }
            if (at && state[*at] == OnWalk)
                throw FormatError(
                    "stack node " + std::to_string(stacks[*at].id.value) + " is its own ancestor",
                    frameOfRecord(*at, &BatchSpan::stacksEnd));
            for (std::size_t node : walk) state[node] = Done;
        }
    }

    void checkEventReferences() {
        const std::vector<StackNodeRecord>& stacks = m_capture.stacks;  // sorted by id
        auto byId = [](const StackNodeRecord& node, common::StackId id) { return node.id < id; };
        common::StackId lastKnown(0);  // the empty stack; consecutive events mostly share a stack
        for (std::size_t i = 0; i < m_capture.events.size(); ++i) {
            common::StackId stack = m_capture.events[i].stack;
            if (stack == lastKnown) continue;
            auto it = std::lower_bound(stacks.begin(), stacks.end(), stack, byId);
            if (stack.value != 0 && (it == stacks.end() || it->id != stack)) {
                unresolved("event refers to unknown stack " + std::to_string(stack.value),
                           frameOfRecord(i, &BatchSpan::eventsEnd));
                continue;
            }
            lastKnown = stack;
        }
    }

    void keepLastThreadNames() {
        std::vector<ThreadRecord>& threads = m_capture.threads;
        std::stable_sort(threads.begin(), threads.end(),
                         [](const auto& a, const auto& b) { return a.id < b.id; });
        std::vector<ThreadRecord> last;
        for (ThreadRecord& thread : threads) {
            if (!last.empty() && last.back().id == thread.id) {
                last.back() = std::move(thread);
            } else {
                last.push_back(std::move(thread));
            }
        }
        threads = std::move(last);
    }

    std::string_view m_bytes;
    std::size_t m_pos = 0;
    Capture m_capture;
    std::vector<BatchSpan> m_batches;
    std::string m_raw;
    std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter> m_dctx;
};

std::string readWholeFile(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw common::Error("cannot open " + path + ": " + std::strerror(errno));
    std::string bytes;
    struct stat info;
    if (::fstat(fd, &info) == 0 && info.st_size > 0) bytes.reserve(static_cast<std::size_t>(info.st_size));
    char buffer[1 << 16];
    while (true) {
        ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int error = errno;
            ::close(fd);
            throw common::Error("cannot read " + path + ": " + std::strerror(error));
        }
        if (got == 0) break;
        bytes.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fd);
    return bytes;
}

}  // namespace

Capture readCaptureBytes(std::string_view bytes) { return CaptureParser(bytes).parse(); }

Capture readCapture(const std::string& path) { return readCaptureBytes(readWholeFile(path)); }

}  // namespace memhound::format
