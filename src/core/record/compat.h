#pragma once
// The one place that knows CPython's private layout (3.11 only). Every file of core/record that
// needs the interpreter includes this header first, so Py_BUILD_CORE is set before Python.h.
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <internal/pycore_frame.h>

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030C0000
#error "memhound's recorder reads CPython 3.11 frames; other versions are not supported"
#endif

namespace memhound::record::compat {

using Frame = _PyInterpreterFrame;

// The thread state of the thread holding the GIL (or NULL), without the checks of PyThreadState_Get.
inline PyThreadState* gilHolder() { return _PyThreadState_UncheckedGet(); }

// True when the calling thread holds the GIL: its own thread state is the running one.
inline bool holdsGil(PyThreadState* running) {
    return running != nullptr && PyGILState_GetThisThreadState() == running;
}

// Frames still setting up their cells (before the first RESUME) are skipped, like tracebacks do.
inline Frame* completeFrameFrom(Frame* frame) {
    while (frame != nullptr && _PyFrame_IsIncomplete(frame)) frame = frame->previous;
    return frame;
}

inline Frame* topFrame(PyThreadState* tstate) { return completeFrameFrom(tstate->cframe->current_frame); }
inline Frame* callerFrame(Frame* frame) { return completeFrameFrom(frame->previous); }
inline PyCodeObject* frameCode(Frame* frame) { return frame->f_code; }
// Code units (2 bytes) from the start of co_code; -1 before the first instruction.
inline int instructionOffset(Frame* frame) { return _PyInterpreterFrame_LASTI(frame); }

inline Py_tracefunc profileFunction(PyThreadState* tstate) { return tstate->c_profilefunc; }

}  // namespace memhound::record::compat
