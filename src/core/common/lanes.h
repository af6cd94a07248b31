#pragma once
// Finding a 32-bit value among 16 at once (SSE2 where the compiler targets it).
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace memhound::common {

// Bit i set when values[i] == needle, for i in [0, 16). Reads all 16 values.
inline unsigned equalMask16(const std::uint32_t* values, std::uint32_t needle) {
    unsigned mask = 0;
#if defined(__SSE2__)
    const __m128i wanted = _mm_set1_epi32(static_cast<int>(needle));
    for (unsigned block = 0; block < 4; ++block) {
        const __m128i lanes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(values + block * 4));
        const int equal = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lanes, wanted)));
        mask |= static_cast<unsigned>(equal) << (block * 4);
    }
#else
    for (unsigned i = 0; i < 16; ++i) mask |= unsigned{values[i] == needle} << i;
#endif
    return mask;
}

}  // namespace memhound::common
