#pragma once
// Playing a capture's events in sequence order without holding them: batches are decoded on a
// second thread a few ahead of the consumer, in the one order the merge will open them, so the
// result does not depend on timing. Memory: the batches that overlap in seq (about one per
// thread running at the time), never the whole capture.
#include <cstdint>
#include <span>

#include "core/format/byte_source.h"
#include "core/format/capture_index.h"
#include "core/format/reader.h"
#include "core/format/records.h"

namespace memhound::format {

// The events with from <= seq < until.
struct SeqWindow {
    std::uint64_t from = 0;
    std::uint64_t until = ~std::uint64_t{0};
    bool contains(std::uint64_t seq) const { return seq >= from && seq < until; }
    bool whole() const { return from == 0 && until == ~std::uint64_t{0}; }
};

class EventSink {
public:
    virtual ~EventSink() = default;
    // Consecutive runs of events, in seq order across calls.
    virtual void consume(std::span<const Event> run) = 0;
};

class StreamProgress {
public:
    virtual ~StreamProgress() = default;
    virtual void advanced(std::uint64_t eventsRead, std::uint64_t eventsTotal) = 0;
};

// Plays the events of `window` to `sink` and returns every definition of the capture (batches
// outside the window are decompressed only as far as their definitions). Throws
// common::FormatError naming the frame of the first corrupt batch met.
Definitions playEvents(const ByteSource& source, const CaptureIndex& index, const SeqWindow& window,
                       EventSink& sink, StreamProgress* progress = nullptr);

}  // namespace memhound::format
