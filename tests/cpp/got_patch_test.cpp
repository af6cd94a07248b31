// GOT patching (core/record/got_patch) on a shared object of the test's own, without an
// interpreter: slots written and put back, RELRO pages, exclusions, objects never patched. Runs
// under ASan too: the test object's malloc slot then points at ASan's interceptor, which the hook
// replaces and the restore puts back.
#include <gtest/gtest.h>
#include <gnu/libc-version.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/record/got_patch.h"

extern "C" {
void* got_target_malloc(std::size_t size);
void got_target_free(void* block);
using Strlen = std::size_t (*)(const char*);
Strlen got_target_strlen_pointer();
}

namespace memhound::record::got {
namespace {

std::atomic<int> g_mallocs{0};
std::atomic<int> g_frees{0};

void* countingMalloc(std::size_t size) {
    g_mallocs.fetch_add(1);
    return std::malloc(size);  // this executable is never patched: the real malloc
}

void countingFree(void* block) {
    g_frees.fetch_add(1);
    std::free(block);
}

std::size_t fixedStrlen(const char*) { return 4242; }

// An address inside this executable: the patcher's own module, never patched.
const void* ownModule() { return reinterpret_cast<const void*>(&countingMalloc); }

Exclusions libcOnly() {
    Exclusions exclusions;
    exclusions.add(reinterpret_cast<const void*>(&gnu_get_libc_version));
    return exclusions;
}

TEST(GotPatchTest, RedirectsCallsAndPutsTheSlotsBack) {
    Hook hooks[] = {{"malloc", reinterpret_cast<void*>(&countingMalloc), true},
                    {"free", reinterpret_cast<void*>(&countingFree), true}};
    for (Hook& hook : hooks) hook.active = true;
    const std::size_t before = patchedSlots();
    EXPECT_GT(apply(hooks, 2, libcOnly(), ownModule()), 0u);
    EXPECT_GT(patchedSlots(), before);
    const int mallocs = g_mallocs.load(), frees = g_frees.load();
    void* block = got_target_malloc(64);
    ASSERT_NE(block, nullptr);
    got_target_free(block);
    EXPECT_GE(g_mallocs.load() - mallocs, 1);
    EXPECT_GE(g_frees.load() - frees, 1);
    // Patched once: a second pass writes nothing.
    EXPECT_EQ(apply(hooks, 2, libcOnly(), ownModule()), 0u);

    for (Hook& hook : hooks) hook.active = false;
    EXPECT_GT(restoreInactive(hooks, 2), 0u);
    EXPECT_EQ(patchedSlots(), before);
    const int afterRestore = g_mallocs.load();
    got_target_free(got_target_malloc(64));
    EXPECT_EQ(g_mallocs.load(), afterRestore);
}

TEST(GotPatchTest, PatchesAFunctionAddressInARelroSlot) {
    Hook hooks[] = {{"strlen", reinterpret_cast<void*>(&fixedStrlen), false}};
    hooks[0].active = true;
    // Every loaded object's strlen is redirected meanwhile (GoogleTest's too): results are
    // checked once the slots are back.
    const std::size_t written = apply(hooks, 1, libcOnly(), ownModule());
    const std::size_t patched = got_target_strlen_pointer()("abc");
    hooks[0].active = false;
    const std::size_t restored = restoreInactive(hooks, 1);
    EXPECT_GT(written, 0u);
    EXPECT_EQ(patched, 4242u);
    EXPECT_EQ(restored, written);
    EXPECT_EQ(got_target_strlen_pointer()("abc"), 3u);
}

TEST(GotPatchTest, AllocatorHooksSkipExcludedObjects) {
    Hook hooks[] = {{"malloc", reinterpret_cast<void*>(&countingMalloc), true}};
    hooks[0].active = true;
    Exclusions exclusions = libcOnly();
    exclusions.add(reinterpret_cast<const void*>(&got_target_malloc));  // the test object owns one
    apply(hooks, 1, exclusions, ownModule());
    const int mallocs = g_mallocs.load();
    void* block = got_target_malloc(64);
    EXPECT_EQ(g_mallocs.load(), mallocs);
    got_target_free(block);
    hooks[0].active = false;
    restoreInactive(hooks, 1);
}

TEST(GotPatchTest, CountsLoadedObjects) { EXPECT_GT(objectsAdded(), 2u); }

}  // namespace
}  // namespace memhound::record::got
