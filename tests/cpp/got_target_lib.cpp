// A shared object for got_patch_test.cpp: its calls to other objects' functions go through its
// GOT (a PLT call gives an R_X86_64_JUMP_SLOT relocation, taking a function's address an
// R_X86_64_GLOB_DAT one). Linked with -z now: the slots sit in RELRO pages, read-only.
#include <cstdlib>
#include <cstring>

extern "C" {

[[gnu::visibility("default")]] void* got_target_malloc(std::size_t size) { return std::malloc(size); }

[[gnu::visibility("default")]] void got_target_free(void* block) { std::free(block); }

using Strlen = std::size_t (*)(const char*);
[[gnu::visibility("default")]] Strlen got_target_strlen_pointer() {
    // volatile: the compiler must load the address from the GOT, not fold a call to strlen.
    Strlen volatile function = &std::strlen;
    return function;
}
}
