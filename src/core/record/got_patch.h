#pragma once
// Redirecting calls that loaded shared objects make to functions of other objects, by rewriting
// their global offset table (the GOT slots of R_X86_64_JUMP_SLOT and R_X86_64_GLOB_DAT
// relocations, RELRO pages made writable for the write). No Python.h: plain ELF. Objects loaded
// later are patched when apply() runs again (the dlopen hook does that).
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace memhound::record::got {

// One function to redirect. `replacement` is written into every slot for `symbol` in the objects
// the hook applies to; `active` says whether it applies now. Hooks live in a static table owned
// by the caller, indexed from 0; the patcher keeps their slots to put the old values back.
struct Hook {
    const char* symbol;
    void* replacement;
    bool allocator;  // skipped in the objects that own the allocator or record it themselves
    // Written under the GIL at start and stop; read by the patcher in any thread's dlopen.
    std::atomic<bool> active = false;
};

// Code addresses whose objects never get allocator hooks (libc, libpython or the python
// executable, memhound's own module); the dynamic loader never gets any hook.
struct Exclusions {
    static constexpr std::size_t kMax = 6;
    std::uintptr_t addresses[kMax] = {};
    std::size_t count = 0;
    void add(const void* address) {
        if (address != nullptr && count < kMax) addresses[count++] = reinterpret_cast<std::uintptr_t>(address);
    }
};

// Patches every loaded object for the active hooks (slots already patched are left alone).
// `ownModule`: an address inside memhound's module, which is never patched. Serialised by the
// loader's lock (all the work runs inside dl_iterate_phdr); allocates nothing. Returns the number
// of slots written.
std::size_t apply(Hook* hooks, std::size_t hookCount, const Exclusions& exclusions, const void* ownModule);

// Puts back the old value of every slot patched for a hook that is no longer active.
std::size_t restoreInactive(Hook* hooks, std::size_t hookCount);

// The loader's count of objects loaded so far (dl_phdr_info::dlpi_adds): a change means new objects.
unsigned long long objectsAdded();

// How many slots hold a replacement now (tests).
std::size_t patchedSlots();

}  // namespace memhound::record::got
