#pragma once
// The events of one batch, column-wise (layout in event_columns.cpp). Internal to core/format.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/common/ids.h"
#include "core/format/decoder.h"
#include "core/format/reader.h"
#include "core/format/records.h"

namespace memhound::format::detail {

// Keeps its buffers from one batch to the next (the writer thread encodes many).
class EventColumnEncoder {
public:
    EventColumnEncoder();
    ~EventColumnEncoder();
    void encode(std::string& out, std::span<const RawEvent> events);

private:
    class State;
    std::unique_ptr<State> m_state;
};
// Reads the columns from the rest of `in` and appends the events, all from `thread`.
void decodeEventColumns(Decoder& in, common::ThreadId thread, std::vector<Event>& events);

}  // namespace memhound::format::detail
