#pragma once
// The recorder's entry points into the interpreter: PyMem allocator hooks for the three
// domains, the frame-evaluation hook that counts frame depth, and the thread-start hook.
// Include compat.h first.
#include "core/record/compat.h"

namespace memhound::record {

class ThreadRecorder;

// The calling thread's recorder (null until its first event). Initial-exec TLS: one load.
extern constinit thread_local ThreadRecorder* t_recorder __attribute__((tls_model("initial-exec")));
// Set while the thread is inside the recorder (or calling the previous allocator, or running
// the tool's own Python calls): allocations made meanwhile are not traced.
extern constinit thread_local bool t_inRecorder __attribute__((tls_model("initial-exec")));

class RecorderGuard {
public:
    RecorderGuard() : m_previous(t_inRecorder) { t_inRecorder = true; }
    ~RecorderGuard() { t_inRecorder = m_previous; }
    RecorderGuard(const RecorderGuard&) = delete;
    RecorderGuard& operator=(const RecorderGuard&) = delete;

private:
    bool m_previous;
};

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
