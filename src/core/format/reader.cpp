#include "core/format/reader.h"

#include <algorithm>

#include "core/format/byte_source.h"
#include "core/format/capture_index.h"
#include "core/format/event_stream.h"

namespace memhound::format {
namespace {

class CollectEvents final : public EventSink {
public:
    explicit CollectEvents(std::vector<Event>& events) : m_events(events) {}
    void consume(std::span<const Event> run) override { m_events.insert(m_events.end(), run.begin(), run.end()); }

private:
    std::vector<Event>& m_events;
};

Capture readWhole(const ByteSource& source) {  // the index, then every event in seq order
    CaptureIndex index = indexCapture(source);
    Capture capture;
    capture.events.reserve(std::min<std::uint64_t>(index.eventCount, 1u << 24));  // a corrupt count must not
    // allocate
    CollectEvents sink(capture.events);
    Definitions definitions = playEvents(source, index, SeqWindow{}, sink);
    capture.header = std::move(index.header);
    capture.codes = std::move(definitions.codes);
    capture.stacks = std::move(definitions.stacks);
    capture.threads = std::move(definitions.threads);
    capture.natives = std::move(definitions.natives);
    capture.mappings = std::move(definitions.mappings);
    capture.samples = std::move(index.samples);
    capture.trailer = index.trailer;
    capture.complete = index.complete;
    capture.truncatedAt = index.truncatedAt;
    return capture;
}

}  // namespace

Capture readCaptureBytes(std::string_view bytes) { return readWhole(*memorySource(bytes)); }

}  // namespace memhound::format
