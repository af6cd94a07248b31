#include "core/record/compat.h"

#include "core/record/native_hooks.h"

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <signal.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/record/got_patch.h"
#include "core/record/hooks.h"
#include "core/record/session.h"

namespace memhound::record {
namespace {

using common::Allocator;

// Whether the C allocator is traced (written under the GIL by install/restore, read by any hook).
std::atomic<bool> g_native{false};
// Whether any hook is in the GOTs (the dlopen hook then patches what a dlopen brings in).
std::atomic<bool> g_installed{false};

inline bool tracingNative() {
    return g_native.load(std::memory_order_relaxed) && Session::recording() && !t_hooks.inRecorder();
}

// The hooks below call the real functions by name: memhound's own module is never patched, so
// its calls reach libc (or whatever the program interposed) directly.

// A real allocator call, made inside the guard. A signal handler that allocates while this thread
// is inside the C allocator (which may hold an arena lock) then passes through without recording:
// the recording may itself call malloc (a new event buffer), which would wait on that lock forever.
template <typename Call>
[[gnu::always_inline]] inline auto underGuard(Call call) {
    RecorderGuard guard;
    return call();
}

[[gnu::noinline]] void recordAllocation(Allocator allocator, void* address, std::size_t size) {
    RecorderGuard guard;
    recordExternalAlloc(allocator, address, size);
}

[[gnu::noinline]] void recordRelease(Allocator allocator, void* address) {
    RecorderGuard guard;
    recordExternalFree(allocator, address);
}

// CPython's tracemalloc functions, found by name at install (3.11's header declares them without
// extern "C"). Written under the GIL before the hooks are in any GOT.
using TrackFunction = int (*)(unsigned int, std::uintptr_t, std::size_t);
using UntrackFunction = int (*)(unsigned int, std::uintptr_t);
TrackFunction g_track = nullptr;
UntrackFunction g_untrack = nullptr;

int trackHook(unsigned int domain, std::uintptr_t address, std::size_t size) {
    const int result = g_track(domain, address, size);
    if (Session::recording() && !t_hooks.inRecorder())
        recordAllocation(Allocator::Tracked, reinterpret_cast<void*>(address), size);
    return result;
}

int untrackHook(unsigned int domain, std::uintptr_t address) {
    if (Session::recording() && !t_hooks.inRecorder()) recordRelease(Allocator::Tracked, reinterpret_cast<void*>(address));
    return g_untrack(domain, address);
}

void* mallocHook(std::size_t size) {
    void* address = underGuard([&] { return std::malloc(size); });
    if (address != nullptr && tracingNative()) recordAllocation(Allocator::Malloc, address, size);
    return address;
}

void* callocHook(std::size_t count, std::size_t size) {
    void* address = underGuard([&] { return std::calloc(count, size); });
    std::size_t bytes = 0;
    if (address != nullptr && tracingNative() && !__builtin_mul_overflow(count, size, &bytes))
        recordAllocation(Allocator::Malloc, address, bytes);
    return address;
}

void freeHook(void* address) {
    if (address != nullptr && tracingNative()) recordRelease(Allocator::Malloc, address);
    underGuard([&] { std::free(address); });
}

// realloc = free(old) + alloc(new), the free numbered before the old block can be reused.
[[gnu::noinline]] void* reallocRecorded(void* old, std::size_t size) {
    RecorderGuard guard;
    const std::uint64_t freeSeq = old != nullptr ? externalSeq() : 0;
    void* address = std::realloc(old, size);
    if (address != nullptr || size == 0) {  // glibc's realloc(p, 0) frees p
        if (old != nullptr) recordExternalFree(Allocator::Malloc, old, freeSeq);
        if (address != nullptr) recordExternalAlloc(Allocator::Malloc, address, size);
    }
    return address;
}

void* reallocHook(void* old, std::size_t size) {
    if (!tracingNative()) return underGuard([&] { return std::realloc(old, size); });
    return reallocRecorded(old, size);
}

int posixMemalignHook(void** out, std::size_t alignment, std::size_t size) {
    const int result = underGuard([&] { return posix_memalign(out, alignment, size); });
    if (result == 0 && tracingNative()) recordAllocation(Allocator::Malloc, *out, size);
    return result;
}

void* alignedAllocHook(std::size_t alignment, std::size_t size) {
    void* address = underGuard([&] { return aligned_alloc(alignment, size); });
    if (address != nullptr && tracingNative()) recordAllocation(Allocator::Malloc, address, size);
    return address;
}

void* memalignHook(std::size_t alignment, std::size_t size) {
    void* address = underGuard([&] { return memalign(alignment, size); });
    if (address != nullptr && tracingNative()) recordAllocation(Allocator::Malloc, address, size);
    return address;
}

void* vallocHook(std::size_t size) {
    void* address = underGuard([&] { return valloc(size); });
    if (address != nullptr && tracingNative()) recordAllocation(Allocator::Malloc, address, size);
    return address;
}

void* pvallocHook(std::size_t size) {
    void* address = underGuard([&] { return pvalloc(size); });
    if (address != nullptr && tracingNative()) recordAllocation(Allocator::Malloc, address, size);
    return address;
}

// Anonymous mappings only: a file mapping is not the program's heap (and its pages are shared).
void* mmapHook(void* at, std::size_t length, int protection, int flags, int fd, off_t offset) {
    void* address = mmap(at, length, protection, flags, fd, offset);
    if (address != MAP_FAILED && (flags & MAP_ANONYMOUS) != 0 && tracingNative())
        recordAllocation(Allocator::Mmap, address, length);
    return address;
}

// A mapping unmapped from its start is gone whole (a partial unmap is not followed).
int munmapHook(void* address, std::size_t length) {
    if (tracingNative()) recordRelease(Allocator::Mmap, address);
    return munmap(address, length);
}

// mremap is variadic (a fifth argument with MREMAP_FIXED): passing it on always is harmless.
[[gnu::noinline]] void* mremapRecorded(void* old, std::size_t oldSize, std::size_t newSize, int flags, void* newAt) {
    RecorderGuard guard;
    const std::uint64_t freeSeq = externalSeq();
    void* address = mremap(old, oldSize, newSize, flags, newAt);
    if (address != MAP_FAILED) {
        recordExternalFree(Allocator::Mmap, old, freeSeq);
        recordExternalAlloc(Allocator::Mmap, address, newSize);
    }
    return address;
}

void* mremapHook(void* old, std::size_t oldSize, std::size_t newSize, int flags, void* newAt) {
    if (!tracingNative()) return mremap(old, oldSize, newSize, flags, newAt);
    return mremapRecorded(old, oldSize, newSize, flags, newAt);
}

// Signal handlers. A handler interrupts its thread anywhere, even in the middle of the interpreter
// (a frame half pushed), where capturing the Python stack may read a frame that is not there, and
// the recording may call malloc while the interrupted code holds the allocator's lock. So a handler
// installed through a patched sigaction or signal runs inside the guard: what it allocates passes
// through unrecorded. The kernel calls our trampoline, which calls the program's handler from this
// table (signal number -> the program's handler, and whether it takes siginfo). Entries are written
// by whichever thread installs a handler and read by the trampoline in any thread.
struct ProgramHandler {
    std::atomic<void*> function{nullptr};
    std::atomic<bool> siginfo{false};
};
ProgramHandler g_programHandlers[NSIG];

void signalTrampoline(int signal, siginfo_t* info, void* context) {
    RecorderGuard guard;
    const ProgramHandler& handler = g_programHandlers[signal];
    void* function = handler.function.load(std::memory_order_acquire);
    if (handler.siginfo.load(std::memory_order_relaxed)) {
        reinterpret_cast<void (*)(int, siginfo_t*, void*)>(function)(signal, info, context);
    } else {
        reinterpret_cast<void (*)(int)>(function)(signal);
    }
}

bool isFunction(const struct sigaction& action) {
    if (action.sa_flags & SA_SIGINFO) return action.sa_sigaction != nullptr;
    return action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN && action.sa_handler != nullptr;
}

// Installs the trampoline in place of a program's handler; `old` shows the program's own handler.
int sigactionHook(int signal, const struct sigaction* action, struct sigaction* old) {
    if (signal <= 0 || signal >= NSIG) return sigaction(signal, action, old);
    ProgramHandler& handler = g_programHandlers[signal];
    void* const previous = handler.function.load(std::memory_order_acquire);
    const bool previousSiginfo = handler.siginfo.load(std::memory_order_relaxed);
    struct sigaction wrapped;
    const struct sigaction* installed = action;
    if (action != nullptr && isFunction(*action)) {
        const bool siginfo = (action->sa_flags & SA_SIGINFO) != 0;
        handler.siginfo.store(siginfo, std::memory_order_relaxed);
        handler.function.store(siginfo ? reinterpret_cast<void*>(action->sa_sigaction)
                                       : reinterpret_cast<void*>(action->sa_handler),
                               std::memory_order_release);
        wrapped = *action;
        wrapped.sa_sigaction = &signalTrampoline;
        wrapped.sa_flags |= SA_SIGINFO;
        installed = &wrapped;
    }
    const int result = sigaction(signal, installed, old);
    if (result == 0 && old != nullptr && (old->sa_flags & SA_SIGINFO) && old->sa_sigaction == &signalTrampoline) {
        if (previousSiginfo) {
            old->sa_sigaction = reinterpret_cast<void (*)(int, siginfo_t*, void*)>(previous);
        } else {
            old->sa_handler = reinterpret_cast<void (*)(int)>(previous);
            old->sa_flags &= ~SA_SIGINFO;
        }
    }
    return result;
}

// signal() as glibc makes it (BSD semantics: the signal blocked in its handler, SA_RESTART).
sighandler_t signalHook(int signal, sighandler_t function) {
    struct sigaction action = {};
    struct sigaction old = {};
    action.sa_handler = function;
    sigemptyset(&action.sa_mask);
    if (signal > 0 && signal < NSIG) sigaddset(&action.sa_mask, signal);
    action.sa_flags = SA_RESTART;
    if (sigactionHook(signal, &action, &old) < 0) return SIG_ERR;
    return old.sa_handler;
}

void patchLoadedObjects();

// The loader's object count when the GOTs were last patched.
std::atomic<unsigned long long> g_patchedAdds{0};

void patchIfObjectsAdded() {
    const unsigned long long adds = got::objectsAdded();
    if (adds == g_patchedAdds.load(std::memory_order_relaxed)) return;
    g_patchedAdds.store(adds, std::memory_order_relaxed);
    patchLoadedObjects();
}

// dlopen looks at its caller: a bare name is searched through the calling object's RUNPATH, a
// name with $ORIGIN expands it to the caller's folder. Those calls leave through a tail call,
// which keeps the caller's return address; what they load is patched at the next dlsym (native)
// or by the writer thread within one sampling interval (refreshNativeHooks).
void* dlopenHook(const char* file, int flags) {
    if (file == nullptr || std::strchr(file, '/') == nullptr || std::strchr(file, '$') != nullptr)
        return dlopen(file, flags);
    void* handle = dlopen(file, flags);
    if (handle != nullptr && g_installed.load(std::memory_order_acquire)) {
        RecorderGuard guard;
        patchIfObjectsAdded();
    }
    return handle;
}

// The allocator hook that stands for a real function dlsym found, or null.
void* hookForFunction(void* function);

// A pseudo-handle (RTLD_DEFAULT, RTLD_NEXT) looks up relative to the caller: those calls leave
// through a tail call, which keeps the caller's return address.
void* dlsymHook(void* handle, const char* name) {
    if (handle == RTLD_DEFAULT || handle == RTLD_NEXT || !g_native.load(std::memory_order_relaxed))
        return dlsym(handle, name);
    void* function = dlsym(handle, name);
    if (g_installed.load(std::memory_order_acquire)) {
        RecorderGuard guard;
        patchIfObjectsAdded();  // a library that a bare-named dlopen loaded (ctypes.CDLL("libz.so.1"))
    }
    void* hook = hookForFunction(function);
    return hook != nullptr ? hook : function;
}

// Hook index -> the symbol it replaces and our function. Constant but for `active` (written under
// the GIL by install/restore; read by the patcher in whichever thread calls dlopen).
enum HookIndex : std::size_t {
    kTrack, kUntrack, kDlopen, kDlsym, kSigaction, kSignal, kMalloc, kCalloc, kRealloc, kFree, kPosixMemalign,
    kAlignedAlloc, kMemalign, kValloc, kPvalloc, kMmap, kMunmap, kMremap, kHookCount
};
got::Hook g_hooks[kHookCount] = {
    {"PyTraceMalloc_Track", reinterpret_cast<void*>(&trackHook), false},
    {"PyTraceMalloc_Untrack", reinterpret_cast<void*>(&untrackHook), false},
    {"dlopen", reinterpret_cast<void*>(&dlopenHook), false},
    {"dlsym", reinterpret_cast<void*>(&dlsymHook), true},
    {"sigaction", reinterpret_cast<void*>(&sigactionHook), false},
    {"signal", reinterpret_cast<void*>(&signalHook), false},
    {"malloc", reinterpret_cast<void*>(&mallocHook), true},
    {"calloc", reinterpret_cast<void*>(&callocHook), true},
    {"realloc", reinterpret_cast<void*>(&reallocHook), true},
    {"free", reinterpret_cast<void*>(&freeHook), true},
    {"posix_memalign", reinterpret_cast<void*>(&posixMemalignHook), true},
    {"aligned_alloc", reinterpret_cast<void*>(&alignedAllocHook), true},
    {"memalign", reinterpret_cast<void*>(&memalignHook), true},
    {"valloc", reinterpret_cast<void*>(&vallocHook), true},
    {"pvalloc", reinterpret_cast<void*>(&pvallocHook), true},
    {"mmap", reinterpret_cast<void*>(&mmapHook), true},
    {"munmap", reinterpret_cast<void*>(&munmapHook), true},
    {"mremap", reinterpret_cast<void*>(&mremapHook), true},
};

// The real allocator functions, in hook order from kMalloc (their addresses as our module sees them).
void* const g_realAllocators[] = {
    reinterpret_cast<void*>(&std::malloc),     reinterpret_cast<void*>(&std::calloc),
    reinterpret_cast<void*>(&std::realloc),    reinterpret_cast<void*>(&std::free),
    reinterpret_cast<void*>(&posix_memalign),  reinterpret_cast<void*>(&aligned_alloc),
    reinterpret_cast<void*>(&memalign),        reinterpret_cast<void*>(&valloc),
    reinterpret_cast<void*>(&pvalloc),         reinterpret_cast<void*>(&mmap),
    reinterpret_cast<void*>(&munmap),          reinterpret_cast<void*>(&mremap),
};
static_assert(sizeof g_realAllocators / sizeof g_realAllocators[0] == kHookCount - kMalloc);

void* hookForFunction(void* function) {
    if (function == nullptr) return nullptr;
    for (std::size_t i = kMalloc; i < kHookCount; ++i)
        if (g_realAllocators[i - kMalloc] == function) return g_hooks[i].replacement;
    return nullptr;
}

got::Exclusions exclusions() {
    got::Exclusions out;
    out.add(reinterpret_cast<const void*>(&gnu_get_libc_version));  // libc
    out.add(reinterpret_cast<const void*>(&std::malloc));           // libc, or an allocator preloaded before it
    out.add(reinterpret_cast<const void*>(&PyMem_Malloc));          // libpython or the python executable
    return out;
}

void patchLoadedObjects() {
    g_patchedAdds.store(got::objectsAdded(), std::memory_order_relaxed);
    got::apply(g_hooks, kHookCount, exclusions(), reinterpret_cast<const void*>(&installNativeHooks));
}

void setActive(bool tracked, bool native) {
    g_hooks[kTrack].active.store(tracked, std::memory_order_relaxed);
    g_hooks[kUntrack].active.store(tracked, std::memory_order_relaxed);
    g_hooks[kDlopen].active.store(tracked || native, std::memory_order_relaxed);
    for (std::size_t i = kDlsym; i < kHookCount; ++i) g_hooks[i].active.store(native, std::memory_order_relaxed);
}

}  // namespace

void installNativeHooks(bool native) {
    RecorderGuard guard;
    if (g_track == nullptr) {
        g_track = reinterpret_cast<TrackFunction>(dlsym(RTLD_DEFAULT, "PyTraceMalloc_Track"));
        g_untrack = reinterpret_cast<UntrackFunction>(dlsym(RTLD_DEFAULT, "PyTraceMalloc_Untrack"));
    }
    setActive(g_track != nullptr && g_untrack != nullptr, native);
    g_native.store(native, std::memory_order_relaxed);
    g_installed.store(true, std::memory_order_release);
    patchLoadedObjects();
}

void restoreNativeHooks() {
    RecorderGuard guard;
    g_installed.store(false, std::memory_order_release);
    g_native.store(false, std::memory_order_relaxed);
    setActive(false, false);
    got::restoreInactive(g_hooks, kHookCount);
}

void detachNativeHooks() {
    g_installed.store(false, std::memory_order_release);
    g_native.store(false, std::memory_order_relaxed);
    setActive(false, false);
}

void refreshNativeHooks() {
    if (!g_installed.load(std::memory_order_acquire)) return;
    RecorderGuard guard;
    patchIfObjectsAdded();
}

bool nativeHooksActive() { return g_native.load(std::memory_order_relaxed); }

std::size_t nativePatchedSlots() { return got::patchedSlots(); }

}  // namespace memhound::record
