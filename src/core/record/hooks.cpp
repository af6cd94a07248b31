#include "core/record/compat.h"

#include "core/record/hooks.h"

#include <algorithm>
#include <atomic>

#include "core/record/line_meter.h"
#include "core/record/native_stack.h"
#include "core/record/py_text.h"
#include "core/record/sampling.h"
#include "core/record/session.h"
#include "core/record/thread_recorder.h"

namespace memhound::record {

constinit thread_local ThreadHookState t_hooks __attribute__((tls_model("initial-exec")));

namespace {

// Hands the thread's recorder over when the thread ends (thread_local destructor).
struct ThreadExitWatch {
    bool armed = false;
    ~ThreadExitWatch() {
        if (armed && t_hooks.recorder != nullptr) Session::instance().retire(t_hooks.recorder);
        t_hooks.recorder = nullptr;
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

// Sampled mode: the thread's byte countdown, usable with or without the GIL. Set up again when
// the session generation changes (a new start, a following fork child); the guard bit stays.
[[gnu::noinline]] void configureSampler() {
    t_hooks.key = Session::generation() | (t_hooks.key & ThreadHookState::kInRecorder);
    const auto seed = static_cast<std::uint64_t>(pthread_self()) ^ static_cast<std::uint64_t>(wallClockNs());
    t_hooks.sampler.configure(Session::sampleBytes(), seed);
}

// Whether this thread's sampler is set up for the current session. Samplers are set up only in
// sampled mode, so a current one also means the session samples.
inline bool samplerCurrent() { return (t_hooks.key & ~ThreadHookState::kInRecorder) == Session::generation(); }

// The fast paths' test: the sampler is current and the thread is not inside the recorder.
inline bool samplerCurrentUnguarded() { return t_hooks.key == Session::generation(); }

bool sampleAllocation(std::size_t size) {
    if (!samplerCurrent()) configureSampler();
    return t_hooks.sampler.shouldSample(size);
}

// Cheap filters run before anything else: in sampled mode most events stop here. In full mode
// the address filter admits every address.
inline bool wantsAlloc(std::size_t size) { return Session::sampleBytes() == 0 || sampleAllocation(size); }
inline bool wantsFree(void* address) {
    return Session::instance().sampled().mayContain(reinterpret_cast<std::uintptr_t>(address));
}

// The calling thread's recorder when it holds the GIL; the usual case without a call.
inline ThreadRecorder* recorderOf(Session& session, PyThreadState* running) {
    ThreadRecorder* recorder = t_hooks.recorder;
    if (recorder != nullptr && recorder->tstate() == running && compat::holdsGil(running)) return recorder;
    return session.recorderFor(running);
}

// The object and mem domains may only be called with the GIL held (the C API's rule, which
// pymalloc itself relies on), so there the thread's recorder needs no check that it holds it.
template <int Domain>
constexpr bool kCallerHoldsGil = Domain != PYMEM_DOMAIN_RAW;

template <int Domain>
constexpr common::Allocator kAllocatorOf = static_cast<common::Allocator>(Domain);

// The stack of an event of a thread that does not hold the GIL (a C call that released it:
// ctypes, numpy, zlib): its last capture's when the thread has not moved since; the same frame
// at its current instruction when only that moved on (a ctypes call after a list append);
// else empty. PyGILState_GetThisThreadState reads the thread's own slot (no lock): null for a
// thread that never ran Python, and never a thread state that was deleted since.
[[gnu::noinline]] common::StackId stackWithoutGil() {
    ThreadRecorder* own = t_hooks.recorder;
    if (own == nullptr) return common::StackId{0};
    PyThreadState* tstate = PyGILState_GetThisThreadState();
    if (tstate == nullptr || tstate != own->tstate()) return common::StackId{0};
    const StackCapture::UnmovedTop top = own->stacks().unmovedTop(tstate, Session::generation());
    if (top.code.value == 0) return top.node;
    return stackNodeWithoutGil(top.parent, top.code, top.offset);
}

// --native-frames: the raw domain (C code calling PyMem_RawMalloc: zlib's, bz2's buffers) and
// the allocators outside PyMem get their C stack; the object and mem domains, the interpreter's
// own allocations of Python objects, do not (their C stack is the evaluation loop).
template <int Domain>
constexpr bool kMayHaveNativeFrames = Domain == PYMEM_DOMAIN_RAW;

// The event without the GIL, with its C frames when they are recorded.
[[gnu::noinline]] void recordAllocWithoutGil(std::uint64_t at, std::size_t size, common::Allocator allocator,
                                             bool nativeFrames) {
    common::StackId stack = stackWithoutGil();
    const RawEvent event{at, size, 0, nativeFrames ? nativeStackOn(stack).value : stack.value, EventKind::Alloc,
                         allocator, 0};
    if (hasNativeDefinitions()) return Session::instance().recordWithoutGilAndNativeDefinitions(event);
    Session::instance().recordWithoutGil(event);
}

[[gnu::noinline]] common::StackId withNativeFrames(common::StackId python, std::string& definitions) {
    const common::StackId stack = nativeStackOn(python);
    takeNativeDefinitions(definitions);
    return stack;
}

// Inlined into each hook that records: the common case runs without a further call.
template <int Domain>
[[gnu::always_inline]] inline void recordAlloc(void* address, std::size_t size,
                                               common::Allocator allocator = kAllocatorOf<Domain>) {
    const auto at = reinterpret_cast<std::uint64_t>(address);
    if (Session::sampleBytes() != 0) Session::instance().sampled().insert(at);
    PyThreadState* running = compat::gilHolder();
    ThreadRecorder* recorder = t_hooks.recorder;
    // The stack is read from the running thread state, which must be the recorder's.
    if (!(kCallerHoldsGil<Domain> && recorder != nullptr && recorder->tstate() == running))
        recorder = recorderOf(Session::instance(), running);
    const bool nativeFrames = kMayHaveNativeFrames<Domain> && Session::nativeFrames();
    if (recorder == nullptr) [[unlikely]]
        return recordAllocWithoutGil(at, size, allocator, nativeFrames);
    common::StackId stack = recorder->stacks().capture(running, frameHookInstalled(), recorder->definitions());
    recorder->stacks().remember(Session::generation());
    if (nativeFrames) stack = withNativeFrames(stack, recorder->definitions());
    recorder->push(EventKind::Alloc, allocator, at, size, stack, recorder->nextSeq());
}

// A number for an event of the calling thread: from its block when it holds the GIL.
std::uint64_t seqForCaller() {
    ThreadRecorder* recorder = recorderOf(Session::instance(), compat::gilHolder());
    return recorder != nullptr ? recorder->nextSeq() : SequenceCounter::take();
}

// seq is the event's sequence number when already taken (realloc), else 0.
template <int Domain>
[[gnu::always_inline]] inline void recordFree(void* address, std::uint64_t seq,
                                              common::Allocator allocator = kAllocatorOf<Domain>) {
    const auto at = reinterpret_cast<std::uint64_t>(address);
    if (Session::sampleBytes() != 0 && !Session::instance().sampled().erase(at)) return;
    ThreadRecorder* recorder = t_hooks.recorder;
    if (!(kCallerHoldsGil<Domain> && recorder != nullptr)) recorder = recorderOf(Session::instance(), compat::gilHolder());
    if (recorder == nullptr) [[unlikely]]
        return Session::instance().recordWithoutGil(RawEvent{at, 0, seq, 0, EventKind::Free, allocator, 0});
    recorder->push(EventKind::Free, allocator, at, 0, common::StackId{0}, seq != 0 ? seq : recorder->nextSeq());
}

// The hooks keep their common case short (in sampled mode nearly every call is one): the
// recording itself sits in separate functions, so the fast path saves no registers.

// pymalloc serves requests up to this many bytes itself and hands larger ones to the raw domain
// (smaller ones too, but only when it cannot get memory for a new arena).
constexpr std::size_t kSmallRequest = 512;

// Whether a block cannot reach another domain's hook: any raw block, a small request to pymalloc.
template <int Domain>
constexpr bool staysInDomain(std::size_t size) {
    return Domain == PYMEM_DOMAIN_RAW || size <= kSmallRequest;
}

// In sampled mode a block that stays in its domain is sampled before it is allocated: most calls
// then go straight on, unguarded.
template <int Domain>
inline bool sampledBeforehand(std::size_t size) {
    return Session::sampleBytes() != 0 && staysInDomain<Domain>(size);
}

// Allocates under the guard, which makes our hooks pass through both the allocations our
// recording makes and the raw blocks pymalloc takes for large requests (recorded here, once).
// `chosen`: the sampling decision was made beforehand; otherwise it is made now.
template <int Domain, typename Allocate>
[[gnu::always_inline]] inline void* allocateRecorded(std::size_t size, bool chosen, Allocate allocate) {
    t_hooks.enterRecorder();
    void* address = allocate();
    if (address != nullptr && Session::recording() && (chosen || wantsAlloc(size)))
        recordAlloc<Domain>(address, size);
    t_hooks.leaveRecorder();
    return address;
}

// Sampled mode's common case, tested first: a block that stays in its domain, this thread's
// sampler current and unguarded, and no sample point reached. Every other case takes the long way.
template <int Domain>
inline bool passesSampler(std::size_t size) {
    return staysInDomain<Domain>(size) && samplerCurrentUnguarded() && t_hooks.sampler.countDown(size);
}

// Full mode records every block (chosen). In sampled mode a small block was either met by a
// sampler new to this session (passesSampler counted nothing) or reached a sample point
// (already counted); a block that may leave its domain is sampled after it is allocated.
template <int Domain, typename Allocate>
[[gnu::noinline]] void* allocateSlowly(std::size_t size, Allocate allocate) {
    if (t_hooks.inRecorder() || !Session::recording()) return allocate();
    bool chosen = Session::sampleBytes() == 0;
    if (sampledBeforehand<Domain>(size)) {
        if (!samplerCurrent()) {
            chosen = sampleAllocation(size);
        } else {
            t_hooks.sampler.restart();
            chosen = true;
        }
        if (!chosen) return allocate();
    }
    return allocateRecorded<Domain>(size, chosen, allocate);
}

// While a line meter is on (line_meter.h): every block is counted, and recorded as usual when a
// capture is being written. The guard keeps a large object block from being counted again as the
// raw block pymalloc takes for it.
template <int Domain, typename Allocate>
[[gnu::noinline]] void* allocateMetered(std::size_t size, Allocate allocate) {
    if (t_hooks.inRecorder()) return allocate();
    t_hooks.enterRecorder();
    void* address = allocate();
    if (address != nullptr) {
        if (Session::recording() && wantsAlloc(size)) recordAlloc<Domain>(address, size);
        meter::noteAlloc(address, size);
    }
    t_hooks.leaveRecorder();
    return address;
}

template <int Domain, typename Allocate>
inline void* allocate(std::size_t size, Allocate allocate) {
    if (meter::on()) [[unlikely]]
        return allocateMetered<Domain>(size, allocate);
    if (passesSampler<Domain>(size)) return allocate();
    return allocateSlowly<Domain>(size, allocate);
}

template <int Domain>
void* hookMalloc(void*, std::size_t size) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    return allocate<Domain>(size, [&previous, size] { return previous.malloc(previous.ctx, size); });
}

template <int Domain>
void* hookCalloc(void*, std::size_t count, std::size_t size) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    return allocate<Domain>(count * size, [&previous, count, size] { return previous.calloc(previous.ctx, count, size); });
}

// realloc = free(old) + alloc(new). `chosen`: the sampler reached a sample point on this size
// beforehand; otherwise the decision is made now.
template <int Domain>
[[gnu::noinline]] void* reallocRecorded(void* old, std::size_t size, bool chosen) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    t_hooks.enterRecorder();
    const bool recording = Session::recording();
    const bool tracksOld = recording && old != nullptr && wantsFree(old);
    // The free is numbered before the old block can be handed to another thread by realloc.
    const std::uint64_t freeSeq = tracksOld ? seqForCaller() : 0;
    void* address = previous.realloc(previous.ctx, old, size);
    if (address != nullptr && recording) {
        if (tracksOld) recordFree<Domain>(old, freeSeq);
        if (chosen || wantsAlloc(size)) recordAlloc<Domain>(address, size);
    }
    t_hooks.leaveRecorder();
    return address;
}

// realloc while a line meter is on: the old block's size is taken out of the meter's table before
// the call and put back if the call fails.
template <int Domain>
[[gnu::noinline]] void* reallocMetered(void* old, std::size_t size) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    if (t_hooks.inRecorder()) return previous.realloc(previous.ctx, old, size);
    t_hooks.enterRecorder();
    const bool recording = Session::recording();
    const bool tracksOld = recording && old != nullptr && wantsFree(old);
    const std::uint64_t freeSeq = tracksOld ? seqForCaller() : 0;
    const std::uint64_t oldSize = meter::forget(old);
    void* address = previous.realloc(previous.ctx, old, size);
    if (address != nullptr) {
        if (tracksOld) recordFree<Domain>(old, freeSeq);
        if (recording && wantsAlloc(size)) recordAlloc<Domain>(address, size);
        meter::noteFreed(oldSize);
        meter::noteAlloc(address, size);
    } else {
        meter::putBack(old, oldSize);
    }
    t_hooks.leaveRecorder();
    return address;
}

// Sampled mode's common case: the old block was not sampled and the new size reaches no sample
// point. Any size may take it: the guard keeps the raw block that pymalloc takes or resizes for
// a large request from being counted again by the raw domain's hook.
template <int Domain>
void* hookRealloc(void*, void* old, std::size_t size) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    if (meter::on()) [[unlikely]]
        return reallocMetered<Domain>(old, size);
    if (samplerCurrentUnguarded() && (old == nullptr || !wantsFree(old))) {
        if (!t_hooks.sampler.countDown(size)) {
            t_hooks.sampler.restart();
            return reallocRecorded<Domain>(old, size, true);
        }
        t_hooks.enterRecorder();
        void* address = previous.realloc(previous.ctx, old, size);
        t_hooks.leaveRecorder();
        return address;
    }
    if (t_hooks.inRecorder()) return previous.realloc(previous.ctx, old, size);
    return reallocRecorded<Domain>(old, size, false);
}

// Recorded before the block is released, so its number precedes any reuse of the address. The
// guard spans the release too: the object allocator hands large blocks back to the raw domain,
// whose hook must not record the same free again.
template <int Domain>
[[gnu::noinline]] void freeRecorded(void* address) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    t_hooks.enterRecorder();
    if (address != nullptr) recordFree<Domain>(address, 0);
    previous.free(previous.ctx, address);
    t_hooks.leaveRecorder();
}

// A free while a line meter is on: counted before the block is released (its address may be
// reused at once).
template <int Domain>
[[gnu::noinline]] void freeMetered(void* address) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    if (t_hooks.inRecorder()) return previous.free(previous.ctx, address);
    t_hooks.enterRecorder();
    if (address != nullptr && Session::recording() && wantsFree(address)) recordFree<Domain>(address, 0);
    meter::noteFree(address);
    previous.free(previous.ctx, address);
    t_hooks.leaveRecorder();
}

template <int Domain>
void hookFree(void*, void* address) {
    const PyMemAllocatorEx& previous = g_previous[Domain];
    if (meter::on()) [[unlikely]]
        return freeMetered<Domain>(address);
    // In sampled mode almost every free stops here, at the filter lookup (tested first: an
    // address that was never sampled passes through whether recording or not).
    if (!wantsFree(address) || t_hooks.inRecorder() || !Session::recording()) return previous.free(previous.ctx, address);
    freeRecorded<Domain>(address);
}

template <int Domain>
PyMemAllocatorEx hooksOf(void* ctx) {
    return PyMemAllocatorEx{ctx, &hookMalloc<Domain>, &hookCalloc<Domain>, &hookRealloc<Domain>, &hookFree<Domain>};
}
using HookFactory = PyMemAllocatorEx (*)(void*);
// Domain index (PyMemAllocatorDomain) -> our hooks for that domain. Constant.
constexpr HookFactory kHooks[3] = {&hooksOf<0>, &hooksOf<1>, &hooksOf<2>};

// The frame evaluation function that ran frames before ours; ours calls it. Written under the GIL.
compat::EvalFrameFunction g_previousEvalFrame = nullptr;
// Whether captures may trust the depth counts (written under the GIL, read by captures), and
// whether our hook is in the interpreter's chain (it may stay there below another tool's hook).
std::atomic<bool> g_frameHookInstalled{false};
bool g_frameHookInChain = false;

// The calling thread's C stack: its lowest address and a reserve above it, found once per thread
// ({0, 0} when unknown).
struct CStack {
    std::uintptr_t low = 1;
    std::uintptr_t reserve = 0;
};

const CStack& cStack() {
    constinit thread_local CStack t_stack __attribute__((tls_model("initial-exec")));
    if (t_stack.low == 1) [[unlikely]] {
        t_stack = {0, 0};
        pthread_attr_t attr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            void* low = nullptr;
            std::size_t size = 0;
            if (pthread_attr_getstack(&attr, &low, &size) == 0)
                t_stack = {reinterpret_cast<std::uintptr_t>(low), std::min<std::size_t>(size / 4, 1 << 20)};
            pthread_attr_destroy(&attr);
        }
    }
    return t_stack;
}

// Recursion levels to lend to a call through the frame hook (compat.h says why): the levels it
// spends while the C stack has room, and below the reserve a negative loan that leaves the
// interpreter few enough levels to raise RecursionError before the stack runs out (every Python
// call through the hook is a C call, so a recursion limit raised high would otherwise overflow it). The callee's
// levels balance, so the hook pays the loan back exactly after the call.
int recursionLoan(PyThreadState* tstate) {
    constexpr int kLevelsInReserve = 100;
    const CStack& stack = cStack();
    auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    if (stack.low != 0 && here > stack.low + stack.reserve) return compat::kRecursionLevelsPerHookedCall;
    return std::min(0, kLevelsInReserve - compat::cRecursionRemaining(tstate));
}

// Counts frames in and out for the stack cache of the thread's recorder. A frame-evaluation hook
// rather than PyEval_SetProfile: in 3.11 any profile function switches the interpreter to its
// tracing mode (specialized instructions deoptimized, a frame object and a line number made for
// every call), measured at 1.4-2x on its own; this hook costs about 1.1x (inlined Python-to-Python
// calls become C calls).
PyObject* frameHook(PyThreadState* tstate, compat::Frame* frame, int throwflag) {
    // The recorder at entry is the one to tell about the exit (it may be created meanwhile).
    ThreadRecorder* recorder = t_hooks.recorder;
    if (recorder != nullptr) recorder->stacks().onCall();
    const int loan = recursionLoan(tstate);
    compat::cRecursionRemaining(tstate) += loan;
    PyObject* result = g_previousEvalFrame(tstate, frame, throwflag);
    compat::cRecursionRemaining(tstate) -= loan;
    if (recorder != nullptr) recorder->stacks().onReturn();
    return result;
}

// Installed with threading.setprofile: runs once in each new thread, on its first Python event.
PyObject* threadStartHook(PyObject*, PyObject*) {
    PyEval_SetProfile(nullptr, nullptr);
    if (Session::recording()) {
        RecorderGuard guard;
        reportCurrentThreadName();
    }
    Py_RETURN_NONE;
}

PyMethodDef g_threadStartHookDef = {"_memhound_thread_start", &threadStartHook, METH_VARARGS,
                                    "memhound: reports a new thread's name to the recorder, then removes itself"};

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

// Replaces threading's profile hook when it is `expected`; errors are dropped (best effort).
void swapThreadingProfile(PyObject* expected, PyObject* replacement) {
    PyObject* current = threadingCall("getprofile", nullptr);
    PyObject* result = current == expected ? threadingCall("setprofile", replacement) : nullptr;
    Py_XDECREF(result);
    Py_XDECREF(current);
    PyErr_Clear();
}

}  // namespace

// Any thread, with or without the GIL (the raw domain's rules), inside a RecorderGuard.
void recordExternalAlloc(common::Allocator allocator, void* address, std::size_t size) {
    if (address == nullptr || !Session::recording() || !wantsAlloc(size)) return;
    recordAlloc<PYMEM_DOMAIN_RAW>(address, size, allocator);
}

void recordExternalFree(common::Allocator allocator, void* address, std::uint64_t seq) {
    if (address == nullptr || !Session::recording() || !wantsFree(address)) return;
    recordFree<PYMEM_DOMAIN_RAW>(address, seq, allocator);
}

std::uint64_t externalSeq() { return seqForCaller(); }

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

void installFrameHook() {
    if (!g_frameHookInChain) {
        g_previousEvalFrame = compat::evalFrameFunction();
        compat::setEvalFrameFunction(&frameHook);
        g_frameHookInChain = true;
    }
    g_frameHookInstalled = true;
}

void restoreFrameHook() {
    g_frameHookInstalled = false;
    // A hook installed above ours since then still calls ours, which keeps passing frames on.
    if (compat::evalFrameFunction() != &frameHook) return;
    compat::setEvalFrameFunction(g_previousEvalFrame);
    g_frameHookInChain = false;
}

bool frameHookInstalled() { return g_frameHookInstalled.load(std::memory_order_relaxed); }

// A program that set its own threading profile hook keeps it; its threads are named at flush and stop.
void installThreadNameHook() { swapThreadingProfile(Py_None, threadStartHookObject()); }
void restoreThreadNameHook() { swapThreadingProfile(threadStartHookObject(), Py_None); }

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
