#include "core/record/compat.h"

#include "core/record/arena_cache.h"

#include <array>
#include <cstddef>

namespace memhound::record {
namespace {

// Data-stack chunks are 16 KiB (more for a frame that needs it); pymalloc's arenas, 256 KiB or
// 1 MiB, are never kept, so the interpreter gives its arenas back exactly as without tracing.
constexpr std::size_t kLargestKeptBlock = 64 * 1024;
constexpr std::size_t kKeptBlocks = 8;  // at most 512 KiB kept

struct KeptBlock {
    void* address;
    std::size_t size;
};

PyObjectArenaAllocator g_previous{};
std::array<KeptBlock, kKeptBlocks> g_kept{};
std::size_t g_keptCount = 0;
bool g_keeping = false;  // false: passing through (restored, but another tool chained above us)
bool g_inChain = false;

void* allocateArena(void*, std::size_t size) {
    for (std::size_t i = g_keptCount; i-- > 0;) {
        if (g_kept[i].size != size) continue;
        void* address = g_kept[i].address;
        g_kept[i] = g_kept[--g_keptCount];
        return address;
    }
    return g_previous.alloc(g_previous.ctx, size);
}

void freeArena(void*, void* address, std::size_t size) {
    if (g_keeping && size <= kLargestKeptBlock && g_keptCount < kKeptBlocks) {
        g_kept[g_keptCount++] = KeptBlock{address, size};
        return;
    }
    g_previous.free(g_previous.ctx, address, size);
}

void releaseKept() {
    while (g_keptCount > 0) {
        const KeptBlock block = g_kept[--g_keptCount];
        g_previous.free(g_previous.ctx, block.address, block.size);
    }
}

}  // namespace

void installArenaCache() {
    g_keeping = true;
    if (g_inChain) return;
    PyObject_GetArenaAllocator(&g_previous);
    PyObjectArenaAllocator ours{nullptr, &allocateArena, &freeArena};
    PyObject_SetArenaAllocator(&ours);
    g_inChain = true;
}

void restoreArenaCache() {
    g_keeping = false;
    releaseKept();
    PyObjectArenaAllocator current;
    PyObject_GetArenaAllocator(&current);
    if (current.alloc != &allocateArena) return;
    PyObject_SetArenaAllocator(&g_previous);
    g_inChain = false;
}

}  // namespace memhound::record
