#pragma once
// Typed integer ids shared by every layer, so that a StackId can never be passed where a
// CodeId is expected. Each id is a thin wrapper over an unsigned integer with value semantics.
#include <compare>
#include <cstdint>
#include <functional>

namespace memhound::common {

template <typename Tag, typename Rep = std::uint32_t>
struct Id {
    Rep value{};
    constexpr Id() = default;
    constexpr explicit Id(Rep v) : value(v) {}
    constexpr auto operator<=>(const Id&) const = default;
};

// A node of the interned stack prefix tree: (parent node, code, instruction offset). 0 = empty stack.
using StackId = Id<struct StackTag>;
// A code object seen by the recorder (function name, file, first line, line table).
using CodeId = Id<struct CodeTag>;
// A thread as numbered by the recorder, in order of first appearance.
using ThreadId = Id<struct ThreadTag>;
// A node of a heap object graph (dense, 0..N-1).
using NodeId = Id<struct NodeTag>;
// A type in a heap snapshot's type table.
using TypeId = Id<struct TypeTag>;

// The allocator an event came from, stored in every allocation record (3 bits in the capture).
// PyMemRaw/PyMem/PyObject: the PyMem domains. Malloc and Mmap: the C library, seen by the native
// hooks (--native). Tracked: memory that an extension reported through PyTraceMalloc_Track
// (numpy's array data, domain 389047), recorded in every mode.
enum class Allocator : std::uint8_t { PyMemRaw = 0, PyMem = 1, PyObject = 2, Malloc = 3, Mmap = 4, Tracked = 5 };
inline constexpr Allocator kLastAllocator = Allocator::Tracked;

// Whether the memory of an allocator is Python's own (a PyMem domain): reports name the others.
constexpr bool isPyMem(Allocator allocator) { return static_cast<std::uint8_t>(allocator) <= 2; }

}  // namespace memhound::common

template <typename Tag, typename Rep>
struct std::hash<memhound::common::Id<Tag, Rep>> {
    std::size_t operator()(const memhound::common::Id<Tag, Rep>& id) const noexcept {
        return std::hash<Rep>{}(id.value);
    }
};
