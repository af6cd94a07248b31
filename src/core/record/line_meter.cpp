#include "core/record/compat.h"

#include "core/record/line_meter.h"

#include <algorithm>

#include "core/record/block_sizes.h"
#include "core/record/hooks.h"
#include "core/record/session.h"

namespace memhound::record::meter {
namespace {

struct ThreadCounters {
    Counters counters;
    int paused = 0;
};
constinit thread_local ThreadCounters t_meter __attribute__((tls_model("initial-exec")));

// Every thread's sums. Written by the hooks of any thread (relaxed atomics), read under the GIL.
std::atomic<std::int64_t> g_allocated{0};
std::atomic<std::int64_t> g_freed{0};
std::atomic<std::int64_t> g_live{0};
std::atomic<std::int64_t> g_high{0};

// The blocks allocated while metering, guarded by g_tableLock (the raw domain runs without the GIL).
BlockSizes* g_sizes = nullptr;
std::atomic_flag g_tableLock = ATOMIC_FLAG_INIT;
int g_users = 0;  // under the GIL

struct TableLock {
    TableLock() {
        while (g_tableLock.test_and_set(std::memory_order_acquire)) {
        }
    }
    ~TableLock() { g_tableLock.clear(std::memory_order_release); }
};

void raise(std::atomic<std::int64_t>& high, std::int64_t level) {
    std::int64_t seen = high.load(std::memory_order_relaxed);
    while (level > seen && !high.compare_exchange_weak(seen, level, std::memory_order_relaxed)) {
    }
}

void countAlloc(std::int64_t size) {
    Counters& own = t_meter.counters;
    own.allocated += size;
    own.high = std::max(own.high, own.allocated - own.freed);
    g_allocated.fetch_add(size, std::memory_order_relaxed);
    raise(g_high, g_live.fetch_add(size, std::memory_order_relaxed) + size);
}

Counters readAndReset(Counters& counters) {
    Counters read = counters;
    counters.high = counters.allocated - counters.freed;
    return read;
}

}  // namespace

void start() {
    RecorderGuard guard;
    if (g_users++ > 0) return;
    if (g_sizes == nullptr) g_sizes = new BlockSizes();  // kept for the process lifetime
    installAllocators();
    g_on.store(true);
}

void stop() {
    RecorderGuard guard;
    if (g_users == 0 || --g_users > 0) return;
    g_on.store(false);
    if (!Session::instance().started()) restoreAllocators();
    TableLock lock;
    g_sizes->clear();
}

int users() { return g_users; }

Reading pauseAndRead() {
    ++t_meter.paused;
    Reading reading;
    reading.thread = readAndReset(t_meter.counters);
    reading.process.allocated = g_allocated.load(std::memory_order_relaxed);
    reading.process.freed = g_freed.load(std::memory_order_relaxed);
    reading.process.high = g_high.exchange(g_live.load(std::memory_order_relaxed), std::memory_order_relaxed);
    return reading;
}

void resume() {
    if (t_meter.paused > 0) --t_meter.paused;
}

void noteAlloc(void* address, std::size_t size) {
    if (t_meter.paused != 0 || address == nullptr) return;
    {
        TableLock lock;
        g_sizes->insert(reinterpret_cast<std::uint64_t>(address), size);
    }
    countAlloc(static_cast<std::int64_t>(size));
}

void noteFree(void* address) {
    if (address == nullptr) return;
    noteFreed(forget(address));
}

std::uint64_t forget(void* address) {
    if (address == nullptr) return 0;
    TableLock lock;
    return g_sizes->take(reinterpret_cast<std::uint64_t>(address));
}

void putBack(void* address, std::uint64_t size) {
    if (size == 0) return;
    TableLock lock;
    g_sizes->insert(reinterpret_cast<std::uint64_t>(address), size);
}

// A block freed while the thread is paused was the program's (the profiler frees only its own,
// which it allocated paused and so are not in the table): it is counted.
void noteFreed(std::uint64_t size) {
    if (size == 0) return;
    const auto amount = static_cast<std::int64_t>(size);
    t_meter.counters.freed += amount;
    g_freed.fetch_add(amount, std::memory_order_relaxed);
    g_live.fetch_sub(amount, std::memory_order_relaxed);
}

}  // namespace memhound::record::meter
