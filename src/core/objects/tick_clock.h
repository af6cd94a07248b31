#pragma once
// The class tracker's clock, read on every creation and destruction: CLOCK_MONOTONIC_COARSE, the
// clock time.monotonic() reads, at the kernel tick's resolution (1-4 ms). It costs ~5 ns through
// the vDSO; the TSC cost ~15 ns and CLOCK_MONOTONIC ~23 ns per read on the benchmark machine,
// twice per instance on a hot path whose whole budget is ~25 ns (docs/design.md).
#include <cstdint>
#include <ctime>

namespace memhound::objects {

inline std::uint64_t readTick() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(now.tv_nsec);
}

inline double secondsOfTick(std::uint64_t tick) { return static_cast<double>(tick) / 1e9; }

// The clock's resolution in seconds.
inline double tickResolution() {
    timespec res{};
    clock_getres(CLOCK_MONOTONIC_COARSE, &res);
    return static_cast<double>(res.tv_sec) + static_cast<double>(res.tv_nsec) / 1e9;
}

}  // namespace memhound::objects
