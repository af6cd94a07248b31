#pragma once
// The one place where the recorder knows CPython's private layout, for 3.11, 3.12 and 3.13. Every
// file of core/record that needs the interpreter includes this header first, so Py_BUILD_CORE is
// set before Python.h. The versions differ in how the thread state is read, where the top frame
// is kept, what a frame names its code, and the entry and shim frames that 3.12+ link into the
// chain. The heap walker walks frames through this header too.
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

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030E0000
#error "memhound's recorder reads the frames of CPython 3.11, 3.12 and 3.13 only"
#endif
#ifdef Py_GIL_DISABLED
#error "memhound does not support the free-threaded build of CPython"
#endif

namespace memhound::record::compat {

using Frame = _PyInterpreterFrame;
using EvalFrameFunction = _PyFrameEvalFunction;

// The thread state of the thread holding the GIL (or NULL). On 3.11 one load; 3.12 moved it to a
// thread-local that libpython does not export, read through its unchecked getter.
inline PyThreadState* gilHolder() {
#if PY_VERSION_HEX >= 0x030D0000
    return PyThreadState_GetUnchecked();
#elif PY_VERSION_HEX >= 0x030C0000
    return _PyThreadState_UncheckedGet();
#else
    return _PyThreadState_GET();
#endif
}

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

// 3.12+ link an entry frame of the C stack below the frames each evaluation loop runs (its code is
// a trampoline, or None on 3.13), and a shim frame below the __init__ that a specialized call of a
// class runs (code named "__init__" in a file "__init__", function None): neither is a Python
// frame. The first Python frame from `frame` down.
inline Frame* pythonFrameFrom(Frame* frame) {
#if PY_VERSION_HEX >= 0x030C0000
    while (frame != nullptr && (frame->owner == FRAME_OWNED_BY_CSTACK || frame->f_funcobj == Py_None))
        frame = frame->previous;
#endif
    return frame;
}

// Every linked frame counts, including one still in its prologue (making cells, offset -1 or
// before its RESUME): allocations made there belong to that function.
inline Frame* topFrame(PyThreadState* tstate) {
#if PY_VERSION_HEX >= 0x030D0000
    return pythonFrameFrom(tstate->current_frame);
#else
    return pythonFrameFrom(tstate->cframe->current_frame);
#endif
}
inline Frame* callerFrame(Frame* frame) { return pythonFrameFrom(frame->previous); }
inline PyCodeObject* frameCode(Frame* frame) {
#if PY_VERSION_HEX >= 0x030D0000
    return reinterpret_cast<PyCodeObject*>(frame->f_executable);
#else
    return frame->f_code;
#endif
}
// Code units (2 bytes) from the start of co_code of the instruction running (3.11 and 3.12 point
// at the one before the next; 3.13 at the current one: the same unit while a call is in flight);
// -1 before the first instruction.
inline int instructionOffset(Frame* frame) { return _PyInterpreterFrame_LASTI(frame); }

// 3.12+ count C recursion at each entry of the evaluation loop and of a call from it into C, which
// a Python-to-Python call does not make unless a frame evaluation function is set (3.11 counts such
// calls as Python recursion either way). With ours set, every Python call spends two C levels that a
// plain run does not (measured on 3.12 and 3.13): 3.12, whose C limit is 1,500, would fail a
// recursion 750 deep. The frame hook lends them back while the C stack has room. The counter that
// guards the C stack: 3.12's C recursion, 3.11's single recursion count.
#if PY_VERSION_HEX >= 0x030C0000
inline constexpr int kRecursionLevelsPerHookedCall = 2;
inline int& cRecursionRemaining(PyThreadState* tstate) { return tstate->c_recursion_remaining; }
#else
inline constexpr int kRecursionLevelsPerHookedCall = 0;
inline int& cRecursionRemaining(PyThreadState* tstate) { return tstate->recursion_remaining; }
#endif

// PEP 523 frame evaluation: the interpreter-wide function that runs every (non-inlined) frame.
// Setting one makes the interpreter call it for every Python call and generator resume (3.11-3.13
// do not inline a Python-to-Python call, nor resume a generator in place, while one is set).
// The main interpreter's (the recorder supports no other), reachable without a thread state, as in
// a fork child.
inline EvalFrameFunction evalFrameFunction() { return _PyInterpreterState_GetEvalFrameFunc(PyInterpreterState_Main()); }
inline void setEvalFrameFunction(EvalFrameFunction function) {
    _PyInterpreterState_SetEvalFrameFunc(PyInterpreterState_Main(), function);
}

}  // namespace memhound::record::compat
