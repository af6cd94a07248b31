#include "core/record/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace memhound::record {

void PoissonSampler::configure(std::uint64_t meanBytes, std::uint64_t seed) {
    m_meanBytes = static_cast<double>(meanBytes);
    m_state = seed | 1;
    m_bytesLeft = nextInterval();
}

std::uint64_t PoissonSampler::nextInterval() {
    // Exponential with the mean interval: -ln(U) * mean, U uniform in (0, 1]. An allocation
    // larger than the bytes left covers the sample point.
    const double uniform = static_cast<double>((nextRandom() >> 11) + 1) * 0x1.0p-53;
    const double interval = -std::log(uniform) * m_meanBytes;
    return static_cast<std::uint64_t>(std::min(interval, static_cast<double>(std::numeric_limits<std::int64_t>::max())));
}

std::uint64_t PoissonSampler::nextRandom() {
    // xorshift64*: fast, and plenty for choosing sample points.
    m_state ^= m_state >> 12;
    m_state ^= m_state << 25;
    m_state ^= m_state >> 27;
    return m_state * 0x2545F4914F6CDD1DULL;
}

SampledAddresses::SampledAddresses() { clear(); }

void SampledAddresses::insert(std::uintptr_t address) {
    lock();
    const std::size_t bucket = bucketOf(address);
    if (m_live.insert(address).second && m_counts[bucket]++ == 0)
        m_present[bucket / 64].fetch_or(std::uint64_t{1} << (bucket % 64), std::memory_order_relaxed);
    unlock();
}

bool SampledAddresses::erase(std::uintptr_t address) {
    lock();
    const std::size_t bucket = bucketOf(address);
    const bool found = m_live.erase(address) != 0;
    if (found && --m_counts[bucket] == 0)
        m_present[bucket / 64].fetch_and(~(std::uint64_t{1} << (bucket % 64)), std::memory_order_relaxed);
    unlock();
    return found;
}

void SampledAddresses::clear(bool admitAll) {
    lock();
    m_live.clear();
    std::fill(m_counts.begin(), m_counts.end(), 0);
    for (auto& bits : m_present) bits.store(admitAll ? ~std::uint64_t{0} : 0, std::memory_order_relaxed);
    unlock();
}

void SampledAddresses::lock() {
    while (m_lock.test_and_set(std::memory_order_acquire)) {
    }
}

void SampledAddresses::unlock() { m_lock.clear(std::memory_order_release); }

}  // namespace memhound::record
