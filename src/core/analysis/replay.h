#pragma once
// Replaying a capture's events in sequence order while keeping the set of live allocations:
// the common core of the peak, leak, timeline and growth views.
#include <cstdint>

#include "core/common/ids.h"
#include "core/format/flat_map.h"
#include "core/format/reader.h"

namespace memhound::analysis {

// How many bytes and allocations one recorded allocation stands for. In full mode, itself; in
// sampled mode (Poisson sampling by bytes, mean interval N) an allocation of s bytes is recorded
// with probability 1 - exp(-s/N), so it stands for s / (1 - exp(-s/N)) bytes.
class Weigher {
public:
    explicit Weigher(const format::Header& header);
    double bytes(std::uint64_t size) const {  // inline: the full-mode case is one test per event
        return m_meanInterval == 0 || size == 0 ? static_cast<double>(size) : sampledBytes(size);
    }
    double count(std::uint64_t size) const {
        return m_meanInterval == 0 || size == 0 ? 1.0 : sampledBytes(size) / static_cast<double>(size);
    }

private:
    double sampledBytes(std::uint64_t size) const;
    double m_meanInterval = 0;  // 0 = full mode
};

struct LiveAllocation {
    std::uint64_t address;
    std::uint64_t size;
    std::uint64_t seq;
    common::StackId stack;
    common::ThreadId thread;
    std::uint64_t threadOrdinal;  // how many allocations its thread had made before it
    common::Allocator allocator;
};

class LiveSet {
public:
    explicit LiveSet(const Weigher& weigher) : m_weigher(weigher) {}

    // An alloc at a still-live address replaces it (its free was not traced); a free of an
    // unknown address (allocated before tracing started) changes nothing. Returns the
    // allocation the event ended (freed or replaced), if any; valid until the next call.
    const LiveAllocation* apply(const format::Event& event);

    // How many allocations the thread of `allocation` has made after it.
    std::uint64_t allocationsSince(const LiveAllocation& allocation) const;

    void prefetch(std::uint64_t address) const { m_live.prefetch(address); }

    double liveBytes() const { return m_liveBytes; }
    std::size_t size() const { return m_live.size(); }

    template <typename Visit>
    void forEach(Visit&& visit) const {
        m_live.forEach([&](std::uint64_t, const LiveAllocation& live) { visit(live); });
    }

private:
    const Weigher& m_weigher;
    format::FlatMap<LiveAllocation> m_live{1024};
    std::uint64_t& allocationsOf(common::ThreadId thread);

    format::FlatMap<std::uint64_t> m_threadAllocations{16};  // thread id -> allocations so far
    std::uint32_t m_lastThread = ~0u;                        // consecutive events mostly share a thread
    std::uint64_t* m_lastThreadAllocations = nullptr;
    LiveAllocation m_released{};
    double m_liveBytes = 0;
};

}  // namespace memhound::analysis
