#include "core/record/got_patch.h"

#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

namespace memhound::record::got {
namespace {

// Every slot holding a replacement, with the value it had before, and its hook's index. Touched
// only inside dl_iterate_phdr callbacks, which the loader runs one at a time under its own lock
// (so this needs no lock of ours, and a fork never finds it half-written by a thread of ours
// holding a lock). Fixed size: the patcher allocates nothing.
struct PatchedSlot {
    void** slot;
    void* previous;
    std::size_t hook;
};
constexpr std::size_t kMaxSlots = 16384;
PatchedSlot g_slots[kMaxSlots];
std::size_t g_slotCount = 0;

// The table entry a slot already has: left by an object unloaded since, whose address another
// object took (the old value it keeps is not this object's). Null when it has none.
PatchedSlot* entryOf(void** slot) {
    for (std::size_t i = 0; i < g_slotCount; ++i)
        if (g_slots[i].slot == slot) return &g_slots[i];
    return nullptr;
}

struct Pass {
    Hook* hooks;
    std::size_t hookCount;
    const Exclusions* exclusions;
    std::uintptr_t ownModule;
    std::size_t written = 0;
};

bool contains(const dl_phdr_info* info, std::uintptr_t address) {
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& segment = info->dlpi_phdr[i];
        if (segment.p_type != PT_LOAD) continue;
        const std::uintptr_t start = info->dlpi_addr + segment.p_vaddr;
        if (address >= start && address < start + segment.p_memsz) return true;
    }
    return false;
}

bool ownsAny(const dl_phdr_info* info, const Exclusions& exclusions) {
    for (std::size_t i = 0; i < exclusions.count; ++i)
        if (contains(info, exclusions.addresses[i])) return true;
    return false;
}

// glibc relocates the address entries of a loaded object's dynamic section in place, except in the
// vDSO (and on targets that keep it read-only): an address below the load base is not relocated yet.
std::uintptr_t dynamicAddress(const dl_phdr_info* info, ElfW(Addr) value) {
    return value < info->dlpi_addr ? info->dlpi_addr + value : value;
}

// Writes `value` into a GOT slot; pages that RELRO made read-only are made writable for the write.
// glibc protects [start, end) of PT_GNU_RELRO rounded down to pages at both ends.
bool writeSlot(void** slot, void* value, std::uintptr_t relroStart, std::uintptr_t relroEnd) {
    const auto at = reinterpret_cast<std::uintptr_t>(slot);
    if (at < relroStart || at >= relroEnd) {
        __atomic_store_n(slot, value, __ATOMIC_RELEASE);
        return true;
    }
    const auto pageSize = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    void* page = reinterpret_cast<void*>(at & ~(pageSize - 1));
    if (mprotect(page, pageSize, PROT_READ | PROT_WRITE) != 0) return false;
    __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    mprotect(page, pageSize, PROT_READ);
    return true;
}

struct ObjectTables {
    const ElfW(Sym)* symbols = nullptr;
    const char* strings = nullptr;
    std::size_t stringsSize = 0;
    const ElfW(Rela)* plt = nullptr;
    std::size_t pltSize = 0;
    const ElfW(Rela)* rela = nullptr;
    std::size_t relaSize = 0;
    std::uintptr_t relroStart = 0, relroEnd = 0;
};

bool readTables(const dl_phdr_info* info, ObjectTables& tables) {
    const ElfW(Dyn)* dynamic = nullptr;
    const auto pageSize = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& segment = info->dlpi_phdr[i];
        if (segment.p_type == PT_DYNAMIC) dynamic = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + segment.p_vaddr);
        if (segment.p_type == PT_GNU_RELRO) {
            tables.relroStart = (info->dlpi_addr + segment.p_vaddr) & ~(pageSize - 1);
            tables.relroEnd = (info->dlpi_addr + segment.p_vaddr + segment.p_memsz) & ~(pageSize - 1);
        }
    }
    if (dynamic == nullptr) return false;
    bool pltIsRela = true;
    for (const ElfW(Dyn)* entry = dynamic; entry->d_tag != DT_NULL; ++entry) {
        switch (entry->d_tag) {
            case DT_SYMTAB: tables.symbols = reinterpret_cast<const ElfW(Sym)*>(dynamicAddress(info, entry->d_un.d_ptr)); break;
            case DT_STRTAB: tables.strings = reinterpret_cast<const char*>(dynamicAddress(info, entry->d_un.d_ptr)); break;
            case DT_STRSZ: tables.stringsSize = entry->d_un.d_val; break;
            case DT_JMPREL: tables.plt = reinterpret_cast<const ElfW(Rela)*>(dynamicAddress(info, entry->d_un.d_ptr)); break;
            case DT_PLTRELSZ: tables.pltSize = entry->d_un.d_val / sizeof(ElfW(Rela)); break;
            case DT_PLTREL: pltIsRela = entry->d_un.d_val == DT_RELA; break;
            case DT_RELA: tables.rela = reinterpret_cast<const ElfW(Rela)*>(dynamicAddress(info, entry->d_un.d_ptr)); break;
            case DT_RELASZ: tables.relaSize = entry->d_un.d_val / sizeof(ElfW(Rela)); break;
            default: break;
        }
    }
    if (!pltIsRela) tables.plt = nullptr;  // x86-64 uses RELA only
    return tables.symbols != nullptr && tables.strings != nullptr;
}

// The hook named by a relocation's symbol, or hookCount.
std::size_t hookFor(const ObjectTables& tables, const ElfW(Rela)& relocation, const Pass& pass, bool ownsAllocator) {
    const auto type = ELF64_R_TYPE(relocation.r_info);
    if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) return pass.hookCount;
    const ElfW(Sym)& symbol = tables.symbols[ELF64_R_SYM(relocation.r_info)];
    if (symbol.st_name == 0 || symbol.st_name >= tables.stringsSize) return pass.hookCount;
    const char* name = tables.strings + symbol.st_name;
    for (std::size_t i = 0; i < pass.hookCount; ++i) {
        const Hook& hook = pass.hooks[i];
        if (!hook.active.load(std::memory_order_relaxed) || (hook.allocator && ownsAllocator)) continue;
        if (name[0] == hook.symbol[0] && std::strcmp(name, hook.symbol) == 0) return i;
    }
    return pass.hookCount;
}

void patchRelocations(const dl_phdr_info* info, const ObjectTables& tables, const ElfW(Rela)* relocations,
                      std::size_t count, Pass& pass, bool ownsAllocator) {
    for (std::size_t r = 0; r < count; ++r) {
        const std::size_t index = hookFor(tables, relocations[r], pass, ownsAllocator);
        if (index == pass.hookCount) continue;
        auto** slot = reinterpret_cast<void**>(info->dlpi_addr + relocations[r].r_offset);
        void* previous = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        void* replacement = pass.hooks[index].replacement;
        if (previous == replacement) continue;
        PatchedSlot* entry = entryOf(slot);
        if (entry == nullptr && g_slotCount == kMaxSlots) continue;  // table full: left as it is
        if (!writeSlot(slot, replacement, tables.relroStart, tables.relroEnd)) continue;
        if (entry == nullptr) entry = &g_slots[g_slotCount++];
        *entry = {slot, previous, index};
        ++pass.written;
    }
}

bool neverPatched(const dl_phdr_info* info, std::uintptr_t ownModule) {
    const char* name = info->dlpi_name != nullptr ? info->dlpi_name : "";
    return std::strstr(name, "linux-vdso") != nullptr || std::strstr(name, "/ld-linux") != nullptr ||
           std::strncmp(name, "ld-linux", 8) == 0 || contains(info, ownModule);
}

int patchObject(dl_phdr_info* info, std::size_t, void* data) {
    Pass& pass = *static_cast<Pass*>(data);
    if (neverPatched(info, pass.ownModule)) return 0;
    ObjectTables tables;
    if (!readTables(info, tables)) return 0;
    // The main program of a python built without a shared libpython holds the allocator, and one
    // built with it calls PyMem only: either way its calls are recorded by the PyMem hooks or not at all.
    const bool ownsAllocator =
        info->dlpi_name == nullptr || info->dlpi_name[0] == '\0' || ownsAny(info, *pass.exclusions);
    patchRelocations(info, tables, tables.plt, tables.pltSize, pass, ownsAllocator);
    patchRelocations(info, tables, tables.rela, tables.relaSize, pass, ownsAllocator);
    return 0;
}

struct Restore {
    Hook* hooks;
    std::size_t written = 0;
};

int restoreObject(dl_phdr_info* info, std::size_t, void* data) {
    Restore& restore = *static_cast<Restore*>(data);
    ObjectTables tables;
    bool haveTables = false;
    for (std::size_t i = 0; i < g_slotCount; ++i) {
        PatchedSlot& patched = g_slots[i];
        if (patched.slot == nullptr || restore.hooks[patched.hook].active.load(std::memory_order_relaxed)) continue;
        if (!contains(info, reinterpret_cast<std::uintptr_t>(patched.slot))) continue;
        if (!haveTables) {
            readTables(info, tables);  // only its RELRO range is needed
            haveTables = true;
        }
        // Only a slot that still holds our replacement (the object may have been replaced).
        if (__atomic_load_n(patched.slot, __ATOMIC_ACQUIRE) == restore.hooks[patched.hook].replacement &&
            writeSlot(patched.slot, patched.previous, tables.relroStart, tables.relroEnd))
            ++restore.written;
        patched.slot = nullptr;
    }
    return 0;
}

// The last dl_iterate_phdr callback of a restore: forgets the slots of inactive hooks whose
// object is gone (unloaded) and compacts the table.
int compact(dl_phdr_info*, std::size_t, void* data) {
    Hook* hooks = static_cast<Hook*>(data);
    std::size_t kept = 0;
    for (std::size_t i = 0; i < g_slotCount; ++i)
        if (g_slots[i].slot != nullptr && hooks[g_slots[i].hook].active.load(std::memory_order_relaxed))
            g_slots[kept++] = g_slots[i];
    g_slotCount = kept;
    return 1;  // one call is enough
}

int readAdds(dl_phdr_info* info, std::size_t, void* data) {
    *static_cast<unsigned long long*>(data) = info->dlpi_adds;
    return 1;
}

int countSlots(dl_phdr_info*, std::size_t, void* data) {
    *static_cast<std::size_t*>(data) = g_slotCount;
    return 1;
}

}  // namespace

std::size_t apply(Hook* hooks, std::size_t hookCount, const Exclusions& exclusions, const void* ownModule) {
    Pass pass{hooks, hookCount, &exclusions, reinterpret_cast<std::uintptr_t>(ownModule)};
    dl_iterate_phdr(&patchObject, &pass);
    return pass.written;
}

std::size_t restoreInactive(Hook* hooks, std::size_t) {
    Restore restore{hooks};
    dl_iterate_phdr(&restoreObject, &restore);
    dl_iterate_phdr(&compact, hooks);
    return restore.written;
}

unsigned long long objectsAdded() {
    unsigned long long adds = 0;
    dl_iterate_phdr(&readAdds, &adds);
    return adds;
}

std::size_t patchedSlots() {
    std::size_t count = 0;
    dl_iterate_phdr(&countSlots, &count);
    return count;
}

}  // namespace memhound::record::got
