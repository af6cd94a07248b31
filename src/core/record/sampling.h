#pragma once
// Sampled mode: which allocations to record (Poisson sampling by bytes) and which frees to
// record (only those of sampled addresses that are still live). Interpreter-free.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <unordered_set>
#include <vector>

namespace memhound::record {

// Per-thread byte countdown to the next sample point of a Poisson process with mean interval
// `meanBytes`: an allocation of s bytes is sampled with probability 1 - exp(-s / meanBytes).
class PoissonSampler {
public:
    void configure(std::uint64_t meanBytes, std::uint64_t seed);
    // True when this allocation covers a sample point.
    bool shouldSample(std::size_t size) {
        if (countDown(size)) return false;
        restart();
        return true;
    }
    // Counts the allocation's bytes; true while no sample point is reached. After false, the
    // allocation is sampled and restart() must be called. (The subtraction's borrow is the
    // test: no compare follows it on the hooks' fast path.)
    bool countDown(std::size_t size) { return !__builtin_sub_overflow(m_bytesLeft, size, &m_bytesLeft); }
    void restart() { m_bytesLeft = nextInterval(); }

private:
    std::uint64_t nextInterval();
    std::uint64_t nextRandom();

    std::uint64_t m_bytesLeft = 0;
    double m_meanBytes = 0;
    std::uint64_t m_state = 1;
};

// The live sampled addresses, shared by all threads. A filter of one bit per address bucket (set
// while the bucket holds a live sampled address, read without locks) answers "certainly not
// sampled" for almost every free; only a possible hit takes the spin lock and consults the
// exact set. The per-bucket counts behind the bits are kept under the lock.
class SampledAddresses {
public:
    SampledAddresses();
    void insert(std::uintptr_t address);
    // False when the address is certainly not sampled (no lock taken).
    bool mayContain(std::uintptr_t address) const {
        // bucketOf's word and bit, each taken from the address directly (fewer instructions).
        const std::uint64_t word = m_present[(address >> (kAlignBits + 6)) % m_present.size()].load(std::memory_order_relaxed);
        return (word >> ((address >> kAlignBits) % 64)) & 1;
    }
    // Removes the address if it was sampled; true when it was.
    bool erase(std::uintptr_t address);
    // Empties the set; with `admitAll` the filter then lets every address through (full mode,
    // where every free is recorded, takes the same single test as sampled mode).
    void clear(bool admitAll = false);
    // Fork support: the forking thread holds the lock across fork() so the child sees a consistent set.
    void lock();
    void unlock();

private:
    static constexpr int kBucketBits = 16;
    static constexpr std::size_t kBuckets = std::size_t{1} << kBucketBits;
    // Blocks are 16-byte aligned; the next 16 bits vary evenly enough to need no hash.
    static constexpr int kAlignBits = 4;
    static std::size_t bucketOf(std::uintptr_t address) { return (address >> kAlignBits) & (kBuckets - 1); }

    // 8 KiB of bits: it stays in the first-level cache beside the allocator's own data. Inline,
    // not behind a pointer: a free's check is one load from the session's address.
    std::array<std::atomic<std::uint64_t>, kBuckets / 64> m_present;
    std::atomic_flag m_lock = ATOMIC_FLAG_INIT;
    // Guarded by m_lock, touched by any allocating thread: the exact set of live sampled
    // addresses, and how many of them fall in each bucket.
    std::unordered_set<std::uintptr_t> m_live;
    std::vector<std::uint32_t> m_counts = std::vector<std::uint32_t>(kBuckets);
};

}  // namespace memhound::record
