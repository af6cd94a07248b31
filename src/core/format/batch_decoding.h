#pragma once
// Decoding one batch frame found by the index: checksum, zstd, definitions and events. Used by
// the index (version-1 files) and by the event stream. Internal to core/format.
#include <memory>
#include <string>
#include <vector>

#include "core/format/byte_source.h"
#include "core/format/capture_index.h"
#include "core/format/definitions.h"
#include "core/format/reader.h"

struct ZSTD_DCtx_s;

namespace memhound::format::detail {

// Buffers and the zstd context, kept from one batch to the next by the thread that decodes.
class BatchScratch {
public:
    BatchScratch();
    ~BatchScratch();
    BatchScratch(const BatchScratch&) = delete;
    BatchScratch& operator=(const BatchScratch&) = delete;

    std::string payload;
    std::string body;
    ZSTD_DCtx_s* zstd();

private:
    ZSTD_DCtx_s* m_zstd = nullptr;
};

// The batch's definitions go to `log`; with `events`, its events are appended there, sorted by
// seq. Throws common::FormatError naming the frame when it is corrupt or disagrees with its
// prefix. Without `events`, only the start of the body (the definitions) is decompressed.
common::ThreadId decodeBatchFrame(const ByteSource& source, const BatchEntry& batch, BatchScratch& scratch,
                                  DefinitionLog& log, std::vector<Event>* events);

struct DecodedBatch {
    common::ThreadId thread;
    std::vector<Event> events;
};
// The events of one batch, its definitions dropped (indexing a version-1 file).
DecodedBatch decodeBatch(const ByteSource& source, const BatchEntry& batch, BatchScratch& scratch);

}  // namespace memhound::format::detail
