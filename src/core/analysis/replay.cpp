#include "core/analysis/replay.h"

#include <cmath>

namespace memhound::analysis {

Weigher::Weigher(const format::Header& header) {
    if (header.mode == format::Mode::Sampled && header.sampleBytes > 0)
        m_meanInterval = static_cast<double>(header.sampleBytes);
}

double Weigher::sampledBytes(std::uint64_t size) const {
    auto s = static_cast<double>(size);
    return s / -std::expm1(-s / m_meanInterval);  // expm1 keeps precision when s << N
}

const LiveAllocation* LiveSet::apply(const format::Event& event) {
    if (event.kind == format::EventKind::Alloc) {
        LiveAllocation* slot = m_live.findOrInsert(event.address);
        if (slot == nullptr) return nullptr;  // the one unstorable address: ~0
        bool replaces = slot->address == event.address && event.address != 0;  // a new slot is all zeros
        if (replaces) {
            m_released = *slot;
            m_liveBytes -= m_weigher.bytes(slot->size);
        }
        std::uint64_t& ordinal = allocationsOf(event.thread);
        *slot = {event.address, event.size, event.seq, event.stack, event.thread, ordinal++, event.allocator};
        m_liveBytes += m_weigher.bytes(event.size);
        return replaces ? &m_released : nullptr;
    }
    if (!m_live.take(event.address, m_released)) return nullptr;
    m_liveBytes -= m_weigher.bytes(m_released.size);
    return &m_released;
}

std::uint64_t& LiveSet::allocationsOf(common::ThreadId thread) {
    if (m_lastThreadAllocations == nullptr || thread.value != m_lastThread) {  // the only insertion, so the cached pointer stays valid
        m_lastThreadAllocations = m_threadAllocations.findOrInsert(thread.value);
        m_lastThread = thread.value;
    }
    return *m_lastThreadAllocations;
}

std::uint64_t LiveSet::allocationsSince(const LiveAllocation& allocation) const {
    const std::uint64_t* made = m_lastThreadAllocations != nullptr && allocation.thread.value == m_lastThread
                                    ? m_lastThreadAllocations
                                    : m_threadAllocations.find(allocation.thread.value);
    return made ? *made - 1 - allocation.threadOrdinal : 0;
}

}  // namespace memhound::analysis
