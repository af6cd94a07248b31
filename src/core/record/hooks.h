#pragma once
// The recorder's entry points into the interpreter: PyMem allocator hooks for the three
// domains, the frame-evaluation hook that counts frame depth, and the thread-start hook.
// Include compat.h first.
#include "core/record/compat.h"

#include <cstdint>

#include "core/common/ids.h"
#include "core/record/sampling.h"

namespace memhound::record {

class ThreadRecorder;

// What every hook reads of its thread, in one block: initial-exec TLS, one offset load.
struct ThreadHookState {
    static constexpr std::uint64_t kInRecorder = std::uint64_t{1} << 63;
    // The session generation this thread's sampler was set up for (sampled mode), with
    // kInRecorder set while the thread is inside the recorder (or calling the previous
    // allocator, or running the tool's own Python calls): allocations made meanwhile are not
    // traced. A hook's fast path compares the key with the current generation, so that one
    // compare also turns a guarded call away.
    std::uint64_t key = 0;
    PoissonSampler sampler;
    // The thread's recorder (null until its first recorded event).
    ThreadRecorder* recorder = nullptr;

    bool inRecorder() const { return (key & kInRecorder) != 0; }
    void enterRecorder() { key |= kInRecorder; }
    void leaveRecorder() { key &= ~kInRecorder; }
};
extern constinit thread_local ThreadHookState t_hooks __attribute__((tls_model("initial-exec")));

class RecorderGuard {
public:
    RecorderGuard() : m_nested(t_hooks.inRecorder()) { t_hooks.enterRecorder(); }
    ~RecorderGuard() {
        if (!m_nested) t_hooks.leaveRecorder();
    }
    RecorderGuard(const RecorderGuard&) = delete;
    RecorderGuard& operator=(const RecorderGuard&) = delete;

private:
    bool m_nested;
};

// Events of allocators other than PyMem (PyTraceMalloc_Track, the native hooks): any thread, with
// or without the GIL, called inside a RecorderGuard; each does nothing unless recording (and, in
// sampled mode, unless the sampler picks the block). `seq`: the free's number when taken before
// the block was released (realloc), else 0.
void recordExternalAlloc(common::Allocator allocator, void* address, std::size_t size);
void recordExternalFree(common::Allocator allocator, void* address, std::uint64_t seq = 0);
// A sequence number for an event of the calling thread (a realloc's free, taken beforehand).
std::uint64_t externalSeq();

// Makes sure the calling thread hands over its buffer when it exits.
void watchThreadExit();

void installAllocators();
void restoreAllocators();
// Full mode: the frame-evaluation hook that counts frame depth for the stack cache (chained to
// any hook installed before). True while it is installed.
void installFrameHook();
void restoreFrameHook();
bool frameHookInstalled();
// Through threading.setprofile, a hook that reports each new thread's name once, then removes itself.
void installThreadNameHook();
void restoreThreadNameHook();
// Reads the calling thread's threading name and tells the session (GIL held).
void reportCurrentThreadName();

}  // namespace memhound::record
