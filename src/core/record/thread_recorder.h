#pragma once
// The recording state of one thread: its event buffer, its side string of definitions, its
// stack cache. Include compat.h before this header.
#include <cstdint>
#include <string>
#include <vector>

#include "core/common/ids.h"
#include "core/format/records.h"
#include "core/record/compat.h"
#include "core/record/sequence.h"
#include "core/record/stack_capture.h"
#include "core/record/writer_thread.h"

namespace memhound::record {

// Owned by its thread. The owning thread touches it only while holding the GIL; other threads
// touch it only while holding the GIL too (start, flush, stop) or the registry mutex (thread exit),
// so appending an event needs no lock.
class ThreadRecorder {
public:
    ThreadRecorder(std::uint64_t ident, std::uint64_t nativeId, PyThreadState* tstate);

    std::uint64_t ident() const { return m_ident; }
    PyThreadState* tstate() const { return m_tstate; }
    void setTstate(PyThreadState* tstate) { m_tstate = tstate; }
    StackCapture& stacks() { return m_stacks; }
    std::uint64_t nextSeq() { return m_seqs.next(); }
    std::string& definitions() { return m_definitions; }

    // Starts a capture: a new thread id, the name announced, the stack tables empty.
    void beginCapture(common::ThreadId id, const std::string& name);
    // Announces a new name (a ThreadRecord) when it differs from the last one.
    void rename(const std::string& name);

    // Appends an event; a full buffer is handed to the writer thread.
    void push(format::EventKind kind, common::Allocator allocator, std::uint64_t address, std::uint64_t size,
              common::StackId stack, std::uint64_t seq) {
        m_events[m_count] = format::RawEvent{address, size, seq, stack.value, kind, allocator, 0};
        if (++m_count == kBatchEvents) [[unlikely]] handOff();
    }
    // Hands the buffered events and definitions to the writer thread (if there are any).
    void handOff();
    // The thread's pending events and definitions, leaving it with an empty buffer (fork, exit).
    Batch takeBatch();
    void dropPending();

private:
    std::uint64_t m_ident;
    std::uint64_t m_nativeId;
    PyThreadState* m_tstate;
    common::ThreadId m_id;
    std::string m_name;
    EventBuffer m_events;
    std::size_t m_count = 0;
    std::string m_definitions;
    StackCapture m_stacks;
    SequenceBlock m_seqs;
};

}  // namespace memhound::record
