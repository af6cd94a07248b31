#pragma once
// Small, fast hashing helpers for interning tables (not for security).
#include <cstddef>
#include <cstdint>

namespace memhound::common {

inline std::uint64_t mix64(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

inline std::uint64_t hashCombine(std::uint64_t seed, std::uint64_t value) {
    return mix64(seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)));
}

// Checksum for capture frames: FNV-1a over the bytes, good enough to detect
// torn or corrupted frames (not adversarial input).
inline std::uint32_t checksum32(const void* data, std::size_t size) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (std::size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
    return static_cast<std::uint32_t>(h ^ (h >> 32));
}

}  // namespace memhound::common
