#pragma once
// The recorder's entry points into the interpreter: PyMem allocator hooks for the three
// domains, the profile function that counts frame depth, and the thread-start hook.
// Include compat.h first.
#include "core/record/compat.h"

namespace memhound::record {

class ThreadRecorder;

// The calling thread's recorder (null until its first event). Initial-exec TLS: one load.
extern thread_local ThreadRecorder* t_recorder __attribute__((tls_model("initial-exec")));
// Set while the thread is inside the recorder (or calling the previous allocator, or running
// the tool's own Python calls): allocations made meanwhile are not traced.
extern thread_local bool t_inRecorder __attribute__((tls_model("initial-exec")));

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
// Full mode: the depth-counting profile function on every thread (not replacing another
// profiler) and, through threading.setprofile, on threads started later.
void installProfilers();
void uninstallProfilers();
int profileHook(PyObject* unused, PyFrameObject* frame, int what, PyObject* arg);
// Reads the calling thread's threading name and tells the session (GIL held).
void reportCurrentThreadName();

}  // namespace memhound::record
