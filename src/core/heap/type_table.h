#pragma once
// The types met during a walk: a dense TypeId per type object, and per type how to compute an
// instance's shallow size the way sys.getsizeof does (the type's __sizeof__ plus the preheader).
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/common/ids.h"
#include "core/heap/heap_compat.h"

namespace memhound::heap {

using common::TypeId;

// How an instance's __sizeof__ is computed, decided once per type.
enum class SizeRule : std::uint8_t {
    ObjectDefault,  // object.__sizeof__: basic size + item size * ob_size
    AsciiStr,       // exact str: compact ASCII fast path, else the C method
    Int,            // exact int: header + |ob_size| digits
    Dict,           // exact dict: _PyDict_SizeOf
    List,           // exact list: basic size + allocated slots
    CMethod,        // the interpreter's own C __sizeof__ taking no arguments: called directly
    PythonMethod,   // anything else: called through Python after the walk
};

// What an instance is to asizeof: data, or program structure it does not count by default.
enum class Role : std::uint8_t { Data, Structure, Code, Function };

struct TypeInfo {
    PyTypeObject* type = nullptr;
    TypeId id;
    std::uint8_t preheader = 0;
    SizeRule rule = SizeRule::ObjectDefault;
    PyCFunction method = nullptr;  // for SizeRule::CMethod
    Role role = Role::Data;        // classes and modules are Structure
    // numpy's arrays (and types modelled on them) have no tp_traverse, so a view's reference to
    // the array owning its data shows only as `base`: the type's own C descriptor of it, or null.
    PyObject* baseDescriptor = nullptr;
    bool hasReferences() const { return type->tp_traverse != nullptr || baseDescriptor != nullptr; }
};

class TypeTable {
public:
    const TypeInfo& infoOf(PyTypeObject* type) {
        // A small direct-mapped cache in front of the map: heaps mix a handful of types.
        CacheEntry& cached = m_cache[(reinterpret_cast<std::uintptr_t>(type) >> 4) % kCacheSize];
        if (cached.type == type) return *cached.info;
        return infoOfUncached(type, cached);
    }
    std::size_t size() const { return m_types.size(); }
    PyTypeObject* type(TypeId id) const { return m_types[id.value]; }
    // "module.QualName" for classes, tp_name for built-in and extension types.
    std::string nameOf(TypeId id) const;

private:
    struct CacheEntry;
    // Out of line: the cached path is inlined into the walk's per-object code.
    const TypeInfo& infoOfUncached(PyTypeObject* type, CacheEntry& cached);
    TypeInfo describe(PyTypeObject* type);

    std::unordered_map<PyTypeObject*, TypeInfo> m_byType;
    std::vector<PyTypeObject*> m_types;
    struct CacheEntry {
        PyTypeObject* type = nullptr;
        const TypeInfo* info = nullptr;
    };
    static constexpr std::size_t kCacheSize = 251;
    CacheEntry m_cache[kCacheSize];
};

// sys.getsizeof(obj) without the Python call for every rule but PythonMethod. Returns false
// (size untouched) for PythonMethod, which may run arbitrary code and is left for later.
bool nativeShallowSize(PyObject* obj, const TypeInfo& info, std::uint64_t& size);
// sys.getsizeof(obj) through the type's __sizeof__ (any rule); falls back to the basic size if
// __sizeof__ fails, and leaves no exception set.
std::uint64_t pythonShallowSize(PyObject* obj, const TypeInfo& info);

// A type's name as every census and snapshot spells it: "module.QualName" for classes, tp_name
// for built-in and extension types.
std::string typeNameOf(PyTypeObject* type);

// UTF-8 text of a str object without caching UTF-8 inside it (which would change its size).
std::string utf8Of(PyObject* str);

}  // namespace memhound::heap
