#include "core/record/compat.h"

#include "core/record/hooks.h"

#include "core/record/py_text.h"
#include "core/record/session.h"
#include "core/record/thread_recorder.h"

namespace memhound::record {

thread_local ThreadRecorder* t_recorder __attribute__((tls_model("initial-exec"))) = nullptr;
thread_local bool t_inRecorder __attribute__((tls_model("initial-exec"))) = false;

namespace {

// Hands the thread's recorder over when the thread ends (thread_local destructor).
struct ThreadExitWatch {
    bool armed = false;
    ~ThreadExitWatch() {
        if (armed && t_recorder != nullptr) Session::instance().retire(t_recorder);
        t_recorder = nullptr;
    }
};
thread_local ThreadExitWatch t_exitWatch;

// The allocators installed before ours, per domain (index = PyMemAllocatorDomain). Written only
// by installAllocators under the GIL before our hooks are visible; read by the hooks.
PyMemAllocatorEx g_previous[3];
// Whether our hooks are in a domain's chain. Written under the GIL by install/restore.
bool g_hooked[3] = {false, false, false};

using format::EventKind;
using format::RawEvent;

void recordAllocWithRecorder(ThreadRecorder& recorder, PyThreadState* running, common::Allocator kind, void* address,
                             std::size_t size) {
    if (Session::sampleBytes() != 0) {
        if (!recorder.sampler().shouldSample(size)) return;
        Session::instance().sampled().insert(reinterpret_cast<std::uintptr_t>(address));
    }
    const bool depthTracked = compat::profileFunction(running) == &profileHook;
    const common::StackId stack = recorder.stacks().capture(running, depthTracked, recorder.definitions());
    recorder.push(RawEvent{reinterpret_cast<std::uint64_t>(address), size, Session::takeSeq(), stack.value,
                           EventKind::Alloc, kind, 0});
}

void recordAlloc(common::Allocator kind, void* address, std::size_t size) {
    Session& session = Session::instance();
    PyThreadState* running = compat::gilHolder();
    if (ThreadRecorder* recorder = session.recorderFor(running)) {
        recordAllocWithRecorder(*recorder, running, kind, address, size);
        return;
    }
    session.recordWithoutGil(RawEvent{reinterpret_cast<std::uint64_t>(address), size, 0, 0, EventKind::Alloc, kind, 0});
}

// seq is the event's sequence number when already taken (realloc), else 0.
void recordFree(common::Allocator kind, void* address, std::uint64_t seq) {
    Session& session = Session::instance();
    if (Session::sampleBytes() != 0 && !session.sampled().erase(reinterpret_cast<std::uintptr_t>(address))) return;
    const RawEvent event{reinterpret_cast<std::uint64_t>(address), 0, seq, 0, EventKind::Free, kind, 0};
    if (ThreadRecorder* recorder = session.recorderFor(compat::gilHolder())) {
        RawEvent numbered = event;
        if (numbered.seq == 0) numbered.seq = Session::takeSeq();
        recorder->push(numbered);
        return;
    }
    session.recordWithoutGil(event);
}

template <int Domain>
constexpr common::Allocator kAllocatorOf = static_cast<common::Allocator>(Domain);

template <int Domain>
void* hookMalloc(void*, std::size_t size) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    if (t_inRecorder) return previous.malloc(previous.ctx, size);
    t_inRecorder = true;
    void* address = previous.malloc(previous.ctx, size);
    if (address != nullptr && Session::recording()) recordAlloc(kAllocatorOf<Domain>, address, size);
    t_inRecorder = false;
    return address;
}

template <int Domain>
void* hookCalloc(void*, std::size_t count, std::size_t size) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    if (t_inRecorder) return previous.calloc(previous.ctx, count, size);
    t_inRecorder = true;
    void* address = previous.calloc(previous.ctx, count, size);
    if (address != nullptr && Session::recording()) recordAlloc(kAllocatorOf<Domain>, address, count * size);
    t_inRecorder = false;
    return address;
}

// realloc = free(old) + alloc(new).
template <int Domain>
void* hookRealloc(void*, void* old, std::size_t size) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    if (t_inRecorder) return previous.realloc(previous.ctx, old, size);
    t_inRecorder = true;
    const bool recording = Session::recording();
    // The free is numbered before the old block can be handed to another thread by realloc.
    const std::uint64_t freeSeq = recording && old != nullptr ? Session::takeSeq() : 0;
    void* address = previous.realloc(previous.ctx, old, size);
    if (address != nullptr && recording) {
        if (old != nullptr) recordFree(kAllocatorOf<Domain>, old, freeSeq);
        recordAlloc(kAllocatorOf<Domain>, address, size);
    }
    t_inRecorder = false;
    return address;
}

template <int Domain>
void hookFree(void*, void* address) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    if (t_inRecorder) return previous.free(previous.ctx, address);
    t_inRecorder = true;
    // Recorded before the block is released, so its number precedes any reuse of the address.
    if (address != nullptr && Session::recording()) recordFree(kAllocatorOf<Domain>, address, 0);
    previous.free(previous.ctx, address);
    t_inRecorder = false;
}

template <int Domain>
PyMemAllocatorEx hooksOf(void* ctx) {
    return PyMemAllocatorEx{ctx, &hookMalloc<Domain>, &hookCalloc<Domain>, &hookRealloc<Domain>, &hookFree<Domain>};
}
using HookFactory = PyMemAllocatorEx (*)(void*);
constexpr HookFactory kHooks[3] = {&hooksOf<0>, &hooksOf<1>, &hooksOf<2>};

// Installed with threading.setprofile: runs once in each new thread, on its first Python event.
PyObject* threadStartHook(PyObject*, PyObject*) {
    if (Session::recording()) {
        PyEval_SetProfile(&profileHook, nullptr);
        RecorderGuard guard;
        reportCurrentThreadName();
    } else {
        PyEval_SetProfile(nullptr, nullptr);
    }
    Py_RETURN_NONE;
}

PyMethodDef g_threadStartHookDef = {"_memhound_thread_start", &threadStartHook, METH_VARARGS,
                                    "memhound: installs the recorder's profile function in a new thread"};

PyObject* threadStartHookObject() {
    static PyObject* hook = PyCFunction_New(&g_threadStartHookDef, nullptr);  // kept for the process lifetime
    return hook;
}

PyObject* threadingCall(const char* function, PyObject* argument) {
    PyObject* threading = PyImport_ImportModule("threading");
    if (threading == nullptr) return nullptr;
    PyObject* result = argument == nullptr ? PyObject_CallMethod(threading, function, nullptr)
                                           : PyObject_CallMethod(threading, function, "O", argument);
    Py_DECREF(threading);
    return result;
}

void setThreadingProfile(PyObject* hook) {
    PyObject* result = threadingCall("setprofile", hook);
    if (result == nullptr) PyErr_Clear();
    Py_XDECREF(result);
}

template <typename Visit>
void forEachThreadState(Visit visit) {
    PyInterpreterState* interpreter = PyThreadState_GetInterpreter(PyThreadState_Get());
    for (PyThreadState* t = PyInterpreterState_ThreadHead(interpreter); t != nullptr; t = PyThreadState_Next(t)) visit(t);
}

}  // namespace

void watchThreadExit() { t_exitWatch.armed = true; }

void installAllocators() {
    static_assert(PYMEM_DOMAIN_RAW == 0 && PYMEM_DOMAIN_MEM == 1 && PYMEM_DOMAIN_OBJ == 2);
    for (int domain = 0; domain < 3; ++domain) {
        // Still in a chain below another tool's hooks since the last stop: already active again.
        if (g_hooked[domain]) continue;
        const auto which = static_cast<PyMemAllocatorDomain>(domain);
        PyMem_GetAllocator(which, &g_previous[domain]);
        // Our ctx is the previous allocator's ctx: a thread reading the allocator while we swap it
        // may pair either function with either ctx, and every pairing stays valid.
        PyMemAllocatorEx ours = kHooks[domain](g_previous[domain].ctx);
        PyMem_SetAllocator(which, &ours);
        g_hooked[domain] = true;
    }
}

void restoreAllocators() {
    for (int domain = 0; domain < 3; ++domain) {
        const auto which = static_cast<PyMemAllocatorDomain>(domain);
        PyMemAllocatorEx current;
        PyMem_GetAllocator(which, &current);
        // When another tool hooked above us, it still calls into our hooks: they stay, passing through.
        if (current.malloc != kHooks[domain](nullptr).malloc) continue;
        PyMem_SetAllocator(which, &g_previous[domain]);
        g_hooked[domain] = false;
    }
}

void installProfilers() {
    // A thread that already has a profiler keeps it; its captures then always walk the full stack.
    forEachThreadState([](PyThreadState* t) {
        if (compat::profileFunction(t) == nullptr && _PyEval_SetProfile(t, &profileHook, nullptr) < 0) PyErr_Clear();
    });
    PyObject* current = threadingCall("getprofile", nullptr);
    if (current == nullptr) {
        PyErr_Clear();
        return;
    }
    if (current == Py_None) setThreadingProfile(threadStartHookObject());
    Py_DECREF(current);
}

void uninstallProfilers() {
    forEachThreadState([](PyThreadState* t) {
        if (compat::profileFunction(t) == &profileHook && _PyEval_SetProfile(t, nullptr, nullptr) < 0) PyErr_Clear();
    });
    PyObject* current = threadingCall("getprofile", nullptr);
    if (current == nullptr) {
        PyErr_Clear();
        return;
    }
    if (current == threadStartHookObject()) setThreadingProfile(Py_None);
    Py_DECREF(current);
}

int profileHook(PyObject*, PyFrameObject*, int what, PyObject*) {
    if (what != PyTrace_CALL && what != PyTrace_RETURN) return 0;
    if (!Session::recording()) [[unlikely]] {
        // Tracing ended without reaching this thread (fork child, write failure): step aside.
        PyEval_SetProfile(nullptr, nullptr);
        return 0;
    }
    if (ThreadRecorder* recorder = t_recorder) {
        if (what == PyTrace_CALL)
            recorder->stacks().onCall();
        else
            recorder->stacks().onReturn();
    }
    return 0;
}

void reportCurrentThreadName() {
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    if (PyObject* thread = threadingCall("current_thread", nullptr)) {
        if (PyObject* name = PyObject_GetAttrString(thread, "name")) {
            Session::instance().noteThreadName(PyThread_get_thread_ident(), utf8Of(name));
            Py_DECREF(name);
        }
        Py_DECREF(thread);
    }
    PyErr_Clear();
    PyErr_Restore(type, value, traceback);
}

}  // namespace memhound::record
