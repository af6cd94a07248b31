#pragma once
// Sequence numbers: one per recorded event, process-wide, in the order the events happened (a
// free is numbered before its block is released, an allocation after its block was obtained).
// Interpreter-free.
#include <atomic>
#include <cstdint>

namespace memhound::record {

class SequenceCounter {
public:
    // One number: events of threads without a recorder (no GIL), checkpoints, samples.
    // Taking it also ends every thread's block, so later events get larger numbers.
    static std::uint64_t take() { return s_next.fetch_add(1, std::memory_order_relaxed); }
    // `count` consecutive numbers; returns the first.
    static std::uint64_t reserve(std::uint64_t count) { return s_next.fetch_add(count, std::memory_order_relaxed); }
    // The first number nobody has taken or reserved.
    static std::uint64_t frontier() { return s_next.load(std::memory_order_relaxed); }

private:
    static inline std::atomic<std::uint64_t> s_next{1};
};

// A thread's numbers, reserved a block at a time so that an event costs a load instead of an
// atomic read-modify-write. The block is used only while it is the latest reservation (nobody
// took a number since): a thread that lost the GIL to another one, or an event that took a
// single number, sends the next event to a fresh block, so numbers still follow event order.
class SequenceBlock {
public:
    std::uint64_t next() {
        if (m_next == m_end || SequenceCounter::frontier() != m_end) [[unlikely]] refill();
        return m_next++;
    }

private:
    static constexpr std::uint64_t kBlock = 4096;

    void refill() {
        m_next = SequenceCounter::reserve(kBlock);
        m_end = m_next + kBlock;
    }

    std::uint64_t m_next = 0;
    std::uint64_t m_end = 0;
};

}  // namespace memhound::record
