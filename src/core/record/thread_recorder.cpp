#include "core/record/compat.h"

#include "core/record/thread_recorder.h"

#include "core/record/session.h"

namespace memhound::record {

ThreadRecorder::ThreadRecorder(std::uint64_t ident, std::uint64_t nativeId, PyThreadState* tstate)
    : m_ident(ident), m_nativeId(nativeId), m_tstate(tstate), m_events(WriterThread::newBuffer()) {}

void ThreadRecorder::beginCapture(common::ThreadId id, const std::string& name) {
    m_id = id;
    m_name = name;
    m_count = 0;
    m_definitions.clear();
    m_stacks.reset();
    format::encodeThread(m_definitions, format::ThreadRecord{m_id, m_nativeId, m_name});
}

void ThreadRecorder::rename(const std::string& name) {
    if (name == m_name) return;
    m_name = name;
    format::encodeThread(m_definitions, format::ThreadRecord{m_id, m_nativeId, m_name});
}

void ThreadRecorder::handOff() {
    if (m_count == 0 && m_definitions.empty()) return;
    m_events = Session::instance().exchange(takeBatch());
}

Batch ThreadRecorder::takeBatch() {
    Batch batch{m_id, std::move(m_events), m_count, std::move(m_definitions)};
    m_events = nullptr;
    m_count = 0;
    m_definitions.clear();
    return batch;
}

void ThreadRecorder::dropPending() {
    m_count = 0;
    m_definitions.clear();
}

}  // namespace memhound::record
