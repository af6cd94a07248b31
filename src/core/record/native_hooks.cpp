#include "core/record/compat.h"

#include "core/record/native_hooks.h"

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <malloc.h>
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
    void* address = std::malloc(size);
    if (address != nullptr && tracingNative()) recordAllocation(Allocator::Malloc, address, size);
    return address;
}

void* callocHook(std::size_t count, std::size_t size) {
    void* address = std::calloc(count, size);
    std::size_t bytes = 0;
    if (address != nullptr && tracingNative() && !__builtin_mul_overflow(count, size, &bytes))
        recordAllocation(Allocator::Malloc, address, bytes);
    return address;
}

void freeHook(void* address) {
    if (address != nullptr && tracingNative()) recordRelease(Allocator::Malloc, address);
    std::free(address);
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
    if (!tracingNative()) return std::realloc(old, size);
    return reallocRecorded(old, size);
}

int posixMemalignHook(void** out, std::size_t alignment, std::size_t size) {
    const int result = posix_memalign(out, alignment, size);
    if (result == 0 && tracingNative()) recordAllocation(Allocator::Malloc, *out, size);
    return result;
}

void* alignedAllocHook(std::size_t alignment, std::size_t size) {
    void* address = aligned_alloc(alignment, size);
    if (address != nullptr && tracingNative()) recordAllocation(Allocator::Malloc, address, size);
    return address;
}

void* memalignHook(std::size_t alignment, std::size_t size) {
    void* address = memalign(alignment, size);
    if (address != nullptr && tracingNative()) recordAllocation(Allocator::Malloc, address, size);
    return address;
}

void* vallocHook(std::size_t size) {
    void* address = valloc(size);
    if (address != nullptr && tracingNative()) recordAllocation(Allocator::Malloc, address, size);
    return address;
}

void* pvallocHook(std::size_t size) {
    void* address = pvalloc(size);
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
    kTrack, kUntrack, kDlopen, kDlsym, kMalloc, kCalloc, kRealloc, kFree, kPosixMemalign,
    kAlignedAlloc, kMemalign, kValloc, kPvalloc, kMmap, kMunmap, kMremap, kHookCount
};
got::Hook g_hooks[kHookCount] = {
    {"PyTraceMalloc_Track", reinterpret_cast<void*>(&trackHook), false},
    {"PyTraceMalloc_Untrack", reinterpret_cast<void*>(&untrackHook), false},
    {"dlopen", reinterpret_cast<void*>(&dlopenHook), false},
    {"dlsym", reinterpret_cast<void*>(&dlsymHook), true},
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
