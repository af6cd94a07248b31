#pragma once
// Calls that loaded shared objects make into other objects, redirected through their GOT
// (got_patch.h) while tracing:
// - always: PyTraceMalloc_Track / PyTraceMalloc_Untrack (what numpy reports its array data
//   through), recorded as Allocator::Tracked, and dlopen, so that an extension imported later is
//   patched too;
// - with native: the C allocator (malloc, calloc, realloc, free, posix_memalign, aligned_alloc,
//   memalign, valloc, pvalloc; anonymous mmap, munmap, mremap), recorded as Allocator::Malloc and
//   Allocator::Mmap, and dlsym, so that a function pointer looked up at run time (ctypes) is the
//   hook too. Not in libc, the dynamic loader, memhound's module, nor libpython / the python
//   executable, whose allocations the PyMem hooks record already (docs/design.md).
// Every hook calls the real function and records under the RecorderGuard; it never calls into
// Python and takes no lock of its own. Include compat.h first.
#include <cstddef>

namespace memhound::record {

// Patches every loaded object (GIL held, at start and in a following fork child).
void installNativeHooks(bool native);
// Puts the old GOT values back; the hooks stay valid (a pointer from dlsym may still call them).
void restoreNativeHooks();
// Fork child that stops tracing: the hooks pass through from now on, their GOT slots stay (the
// loader's lock may be held by a thread that the fork did not copy, so the GOTs are not walked).
void detachNativeHooks();
// Patches the objects loaded since the last patching, if any (any thread; the writer thread calls
// it at every wake-up, for libraries that a dlopen the hook could not follow brought in).
void refreshNativeHooks();
// Whether the C allocator is traced now.
bool nativeHooksActive();
// Slots of loaded objects that hold a hook now (tests).
std::size_t nativePatchedSlots();

}  // namespace memhound::record
