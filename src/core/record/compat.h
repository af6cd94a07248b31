#pragma once
// The one place that knows CPython's private layout (3.11 only). Every file of core/record that
// needs the interpreter includes this header first, so Py_BUILD_CORE is set before Python.h.
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <internal/pycore_frame.h>
// pycore_atomic.h uses C11 <stdatomic.h>, which C++ cannot include; its GCC-builtin variant has
// the same layout (one machine word per atomic), so select that one.
#undef HAVE_STD_ATOMIC
#include <internal/pycore_pystate.h>

#include <pthread.h>

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030C0000
#error "memhound's recorder reads CPython 3.11 frames; other versions are not supported"
#endif

namespace memhound::record::compat {

using Frame = _PyInterpreterFrame;
using EvalFrameFunction = _PyFrameEvalFunction;

// The thread state of the thread holding the GIL (or NULL): one load, not a call into libpython.
inline PyThreadState* gilHolder() { return _PyThreadState_GET(); }

// pthread_self() of the calling thread, kept in a thread-local after the first call.
inline unsigned long currentThreadId() {
    constinit thread_local unsigned long t_id __attribute__((tls_model("initial-exec"))) = 0;
    if (t_id == 0) [[unlikely]]
        t_id = static_cast<unsigned long>(pthread_self());
    return t_id;
}

// True when the calling thread holds the GIL: the running thread state was made by this thread.
// (A thread state handed to another thread reads as "no GIL": such events just lose their stack.)
inline bool holdsGil(PyThreadState* running) {
    return running != nullptr && running->thread_id == currentThreadId();
}

// Every linked frame counts, including one still in its prologue (making cells, offset -1 or
// before its RESUME): allocations made there belong to that function.
inline Frame* topFrame(PyThreadState* tstate) { return tstate->cframe->current_frame; }
inline Frame* callerFrame(Frame* frame) { return frame->previous; }
inline PyCodeObject* frameCode(Frame* frame) { return frame->f_code; }
// Code units (2 bytes) from the start of co_code; -1 before the first instruction.
inline int instructionOffset(Frame* frame) { return _PyInterpreterFrame_LASTI(frame); }

// PEP 523 frame evaluation: the interpreter-wide function that runs every (non-inlined) frame.
// Setting one makes the 3.11 interpreter call it for every Python call and generator resume.
// The main interpreter's (the recorder supports no other), reachable without a thread state, as in
// a fork child.
inline EvalFrameFunction evalFrameFunction() { return _PyInterpreterState_GetEvalFrameFunc(PyInterpreterState_Main()); }
inline void setEvalFrameFunction(EvalFrameFunction function) {
    _PyInterpreterState_SetEvalFrameFunc(PyInterpreterState_Main(), function);
}

}  // namespace memhound::record::compat
