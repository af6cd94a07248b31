#pragma once
// asizeof: the memory of an object graph, each object counted once. Breadth-first through
// tp_traverse from the objects given, so that every object is owned by the closest object that
// reaches it (the tree asized() shows). An object's flat size is sys.getsizeof's, plus attribute
// values kept outside a dict, rounded up to the allocator's alignment. Program structure is not
// data: classes and modules reached are neither counted nor followed, code objects only when asked,
// and a function's globals and builtins are not followed. Runs under the GIL; changes nothing it
// measures (no instance dict is created, reference counts are as they were when it returns).
#include <cstdint>
#include <optional>
#include <unordered_set>
#include <vector>

#include "core/heap/heap_compat.h"
#include "core/heap/labels.h"
#include "core/heap/object_index.h"
#include "core/heap/type_table.h"

namespace memhound::heap {

struct SizerOptions {
    std::optional<std::uint32_t> limit;  // deepest level counted; the objects given are level 0
    bool code = false;                   // count code objects and what they hold
    bool structure = false;              // count and follow classes, modules and functions' globals
    std::uint32_t align = 8;             // flat sizes are rounded up to a multiple of this (1: none)
    // Objects down to this level are held (a reference each) while the sizer lives, so that their
    // references can be labelled afterwards whatever a __sizeof__ written in Python did.
    std::optional<std::uint32_t> holdLevel;
    // Keep every counted object in objects() (for ownedSizes and labelOf); otherwise objects with
    // nothing to follow are counted and forgotten.
    bool tree = false;
};

// One counted object: the object that first reached it (kNoParent for the objects given), its
// level and flat size. `obj` is borrowed: valid only while the sized objects are.
struct SizedObject {
    static constexpr std::uint32_t kNoParent = 0xffffffffu;
    PyObject* obj;
    std::uint32_t parent;
    std::uint32_t level;
    std::uint64_t flat;
};

class ObjectSizer {
public:
    explicit ObjectSizer(SizerOptions options);
    ~ObjectSizer();
    ObjectSizer(const ObjectSizer&) = delete;
    ObjectSizer& operator=(const ObjectSizer&) = delete;

    // Counts what is reachable from `obj` and not counted yet; returns the bytes this added.
    // `obj` itself is counted and followed even when it is a class, module or code object.
    std::uint64_t add(PyObject* obj);

    const std::vector<SizedObject>& objects() const { return m_objects; }
    // Per counted object: its flat size plus the sizes of the objects it owns (its subtree); with
    // SizerOptions::tree only.
    std::vector<std::uint64_t> ownedSizes() const;
    // How the object at `index` is reached from its owner; with SizerOptions::tree, for held objects
    // (see holdLevel) only.
    EdgeLabel labelOf(std::uint32_t index) const;

private:
    bool counts(const TypeInfo& info) const;
    bool remember(PyObject* obj);
    void followBatch(std::size_t first, std::size_t end);
    void visitReferences(std::uint32_t index);
    void reachKeys(PyObject* obj, std::uint32_t index);
    void reachSharedKeys(PyDictKeysObject* keys, std::uint32_t index);
    struct Pending {
        PyObject* child;
        std::uint32_t parent;
        bool traversed;  // a reference the parent's tp_traverse visited (it owns it)
    };
    void reach(const Pending& pending);
    void record(PyObject* obj, const TypeInfo& info, std::uint32_t parent, std::uint32_t level);
    static std::int64_t ownBytes(PyObject* obj);
    std::uint64_t aligned(std::uint64_t size) const;
    void sizeDeferred(std::size_t firstDeferred);
    static int visit(PyObject* child, void* self);

    SizerOptions m_options;
    TypeTable m_types;
    ObjectIndex m_seen{1 << 16};  // addresses of the counted objects that may be met again
    std::vector<SizedObject> m_objects;  // breadth-first: the queue, and with `tree` the tree
    std::uint64_t m_total = 0;
    // Objects whose __sizeof__ must run through Python, held (a reference each) until sized after
    // the traversal: Python code could otherwise free what the traversal still holds borrowed.
    std::vector<std::uint32_t> m_deferred;
    std::vector<PyObject*> m_held;   // see SizerOptions::holdLevel
    std::vector<Pending> m_pending;  // references of the batch being followed
    std::unordered_set<PyDictKeysObject*> m_sharedKeys;  // shared keys whose names are counted
    PyDictKeysObject* m_lastSharedKeys = nullptr;
    PyObject* m_skipA = nullptr;  // references of the object being followed that are not followed
    PyObject* m_skipB = nullptr;
    std::uint32_t m_current = 0;
};

}  // namespace memhound::heap
