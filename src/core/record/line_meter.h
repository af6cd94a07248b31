#pragma once
// The line meter: byte counters that the allocator hooks keep while `memhound.profile` measures a
// function line by line. No stacks and no capture file: each thread counts what it allocates and
// frees (a free's size is looked up in a table of the blocks allocated while metering), and the
// process keeps the same sums for all threads. Python reads the counters at each line event and
// takes the differences. Every function but the note* ones is called with the GIL held.
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace memhound::record::meter {

// Cumulative bytes since the process started metering, and the highest allocated - freed reached
// since the last read.
struct Counters {
    std::int64_t allocated = 0;
    std::int64_t freed = 0;
    std::int64_t high = 0;
};

struct Reading {
    Counters thread;   // the calling thread's
    Counters process;  // every thread's
};

inline std::atomic<bool> g_on{false};
inline bool on() { return g_on.load(std::memory_order_relaxed); }

// Nested starts and stops: the hooks count from the first start to the last stop; the table of
// block sizes is emptied then (a block allocated before metering has no known size, so its free
// is not counted).
void start();
void stop();
int users();

// Stops counting the calling thread's own allocations (the profiler's bookkeeping) and returns the
// counters, each high reset to the current level. resume() counts again.
Reading pauseAndRead();
void resume();

// Allocator hooks, any thread, inside a RecorderGuard.
void noteAlloc(void* address, std::size_t size);
void noteFree(void* address);
// A realloc: the old block's size is taken before the call (and put back if it fails).
std::uint64_t forget(void* address);
void putBack(void* address, std::uint64_t size);
void noteFreed(std::uint64_t size);

}  // namespace memhound::record::meter
