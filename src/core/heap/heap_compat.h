#pragma once
// The heap walker's view of CPython internals (3.11, 3.12, 3.13): the GC generation lists, object
// preheaders, inline (managed) instance values, immortal objects and interpreter frames. Every heap
// file that needs the interpreter includes this header first. The collector's lists and header
// flags are the same in the three versions; managed dicts and inline values changed in each.
// Frames, the supported versions and Py_BUILD_CORE come from the recorder's compat header, so both
// walk the frame chain alike.
#include "core/record/compat.h"

#include <frameobject.h>
// pycore_atomic.h uses C11 <stdatomic.h>, which C++ cannot include; its GCC-builtin variant has
// the same layout (one machine word per atomic), so select that one.
#undef HAVE_STD_ATOMIC
#include <internal/pycore_dict.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_interp.h>
#include <internal/pycore_object.h>
#include <internal/pycore_pymem.h>
#if PY_VERSION_HEX >= 0x030D0000
#include <internal/pycore_setobject.h>  // _PySet_NextEntry left the public headers
#endif

#include <algorithm>
#include <string>

namespace memhound::heap::compat {

using record::compat::Frame;

// Calls fn(PyGC_Head* head) for the head of every GC generation list (young, old, permanent).
template <typename Fn>
void forEachGcList(PyInterpreterState* interp, Fn&& fn) {
    for (int i = 0; i < NUM_GENERATIONS; ++i) fn(&interp->gc.generations[i].head);
    fn(&interp->gc.permanent_generation.head);
}

inline PyGC_Head* gcHead(PyObject* obj) { return _Py_AS_GC(obj); }
inline PyObject* objectOf(PyGC_Head* head) { return reinterpret_cast<PyObject*>(head + 1); }
inline PyGC_Head* nextInList(PyGC_Head* head) { return reinterpret_cast<PyGC_Head*>(head->_gc_next); }
inline bool isTracked(PyObject* obj) { return _PyObject_GC_IS_TRACKED(obj); }

// Calls fn(PyObject*) for every object in the GC generation lists (young, old, permanent).
// The lists must not change meanwhile: no Python code may run inside fn.
template <typename Fn>
void forEachTracked(PyInterpreterState* interp, Fn&& fn) {
    forEachGcList(interp, [&](PyGC_Head* head) {
        for (PyGC_Head* g = nextInList(head); g != head; g = nextInList(g)) fn(objectOf(g));
    });
}

// Blocks handed out by the object allocator and not freed yet: every object it allocated, and
// buffers (list items, dict tables). Zero when the interpreter runs without pymalloc, or when
// sys.getallocatedblocks fails (libpython 3.12+ does not export the C function behind it).
inline std::size_t allocatedBlocks() {
    PyObject* sys = PyImport_ImportModule("sys");
    PyObject* blocks = sys ? PyObject_CallMethod(sys, "getallocatedblocks", nullptr) : nullptr;
    Py_ssize_t count = blocks ? PyLong_AsSsize_t(blocks) : 0;
    Py_XDECREF(blocks);
    Py_XDECREF(sys);
    if (count < 0 || PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return static_cast<std::size_t>(count);
}

// 3.12+ objects that are never freed (None, small ints, interned strings, static types): their
// reference count is a marker, not a count of references.
inline bool isImmortal(PyObject* obj) {
#if PY_VERSION_HEX >= 0x030C0000
    return _Py_IsImmortal(obj);
#else
    (void)obj;
    return false;
#endif
}

inline bool gcIsCollecting(PyInterpreterState* interp) { return interp->gc.collecting != 0; }

// Bytes in front of the object proper: the GC header and the managed-dict pointers. The
// allocator returned (char*)obj - preheader, which is the address the recorder saw.
inline std::size_t preheaderSize(PyTypeObject* type) { return _PyType_PreHeaderSize(type); }

// The preheader one object's size counts, given its type's, as sys.getsizeof() counts it: a static
// type has no GC header although its type (type) has one; 3.13 leaves it out for the instances of
// exactly `type` (a static type of a metaclass, numpy's dtypes, still counts it), older versions
// always count it.
inline std::size_t objectPreheader(PyObject* obj, std::size_t typePreheader) {
#if PY_VERSION_HEX >= 0x030D0000
    if (Py_IS_TYPE(obj, &PyType_Type) && !PyType_HasFeature(reinterpret_cast<PyTypeObject*>(obj), Py_TPFLAGS_HEAPTYPE))
        return 0;
#else
    (void)obj;
#endif
    return typePreheader;
}

inline bool isGcObject(PyObject* obj) { return _PyObject_IS_GC(obj) != 0; }

inline bool hasManagedDict(PyTypeObject* type) { return PyType_HasFeature(type, Py_TPFLAGS_MANAGED_DICT); }

// The inline values of an instance whose attributes are not (only) in a dict (NULL otherwise): on
// 3.11 and 3.12 a separate array, on 3.13 embedded after the object while they are valid.
inline PyDictValues* managedValues(PyObject* obj) {
#if PY_VERSION_HEX >= 0x030D0000
    if (!PyType_HasFeature(Py_TYPE(obj), Py_TPFLAGS_INLINE_VALUES)) return nullptr;
    PyDictValues* values = _PyObject_InlineValues(obj);
    return values->valid ? values : nullptr;
#elif PY_VERSION_HEX >= 0x030C0000
    PyDictOrValues dorv = *_PyObject_DictOrValuesPointer(obj);
    return _PyDictOrValues_IsValues(dorv) ? _PyDictOrValues_GetValues(dorv) : nullptr;
#else
    return *_PyObject_ValuesPointer(obj);
#endif
}
// The managed __dict__ of an instance, when it was created (NULL otherwise).
inline PyObject* managedDict(PyObject* obj) {
#if PY_VERSION_HEX >= 0x030D0000
    return reinterpret_cast<PyObject*>(_PyObject_GetManagedDict(obj));
#elif PY_VERSION_HEX >= 0x030C0000
    PyDictOrValues dorv = *_PyObject_DictOrValuesPointer(obj);
    return _PyDictOrValues_IsValues(dorv) ? nullptr : _PyDictOrValues_GetDict(dorv);
#else
    return *_PyObject_ManagedDictPointer(obj);
#endif
}

// The attribute names that go with managedValues(): the type's shared keys.
inline PyDictKeysObject* sharedKeys(PyTypeObject* type) {
    return reinterpret_cast<PyHeapTypeObject*>(type)->ht_cached_keys;
}
inline Py_ssize_t sharedKeyCount(PyDictKeysObject* keys) { return keys->dk_nentries; }
inline PyObject* sharedKey(PyDictKeysObject* keys, Py_ssize_t i) {
    return DK_UNICODE_ENTRIES(keys)[i].me_key;
}

// Bytes of an instance's attribute values kept outside a dict, which sys.getsizeof leaves out: on
// 3.13 the values embedded at the end of every instance of the type; on 3.11 and 3.12 a separate
// array while the values are in use, with the capacity the type's shared keys had when it was made
// (each new instance lowers it, down to one spare slot). The array's prefix (a byte per slot plus
// two, rounded up to a pointer) ends with its own length, which bounds that capacity to 8 values:
// the closest to the keys' capacity now is taken (exact once a type has a few dozen instances).
inline std::uint64_t inlineValuesBytes(PyObject* obj) {
#if PY_VERSION_HEX >= 0x030D0000
    PyTypeObject* type = Py_TYPE(obj);
    if (!PyType_HasFeature(type, Py_TPFLAGS_INLINE_VALUES) || sharedKeys(type) == nullptr) return 0;
    return _PyInlineValuesSize(type);
#else
    PyDictKeysObject* keys = sharedKeys(Py_TYPE(obj));
    PyDictValues* values = hasManagedDict(Py_TYPE(obj)) && keys ? managedValues(obj) : nullptr;
    if (values == nullptr) return 0;
    constexpr std::int64_t kWord = sizeof(PyObject*);
    auto slots = static_cast<std::int64_t>(keys->dk_nentries + keys->dk_usable);
    std::int64_t prefix = reinterpret_cast<const std::uint8_t*>(values)[-1];
    if (prefix >= kWord && prefix % kWord == 0) slots = std::clamp(slots, prefix - kWord - 1, prefix - 2);
    std::int64_t rounded = (slots + 2 + kWord - 1) / kWord * kWord;
    return static_cast<std::uint64_t>(rounded + slots * kWord);
#endif
}

// What sys.getsizeof(dict) counts that the dict's owner holds: on 3.13 an instance's __dict__,
// once made, still uses the values embedded in the instance, and inlineValuesBytes counts them.
inline std::uint64_t dictBytesInOwner(PyObject* dict) {
#if PY_VERSION_HEX >= 0x030D0000
    PyDictValues* values = reinterpret_cast<PyDictObject*>(dict)->ma_values;
    return values != nullptr && values->embedded ? values->capacity * sizeof(PyObject*) : 0;
#else
    (void)dict;
    return 0;
#endif
}

// The instance dict slot of a type with tp_dictoffset (not a managed dict), without creating it.
inline PyObject** dictSlot(PyObject* obj) {
    PyTypeObject* type = Py_TYPE(obj);
    Py_ssize_t offset = type->tp_dictoffset;
    if (offset == 0 || hasManagedDict(type)) return nullptr;
    if (offset < 0) {
        Py_ssize_t items = Py_SIZE(obj) < 0 ? -Py_SIZE(obj) : Py_SIZE(obj);
        offset += static_cast<Py_ssize_t>(_PyObject_VAR_SIZE(type, items));
    }
    return reinterpret_cast<PyObject**>(reinterpret_cast<char*>(obj) + offset);
}

// Starts loading the memory a size computation and a traversal of `obj` will read next: a list's
// item array, a dict's keys, an instance's inline values. `obj` itself should be in cache.
inline void prefetchContents(PyObject* obj) {
    PyTypeObject* type = Py_TYPE(obj);
    if (type == &PyList_Type) {
        __builtin_prefetch(reinterpret_cast<PyListObject*>(obj)->ob_item);
    } else if (type == &PyDict_Type) {
        __builtin_prefetch(reinterpret_cast<PyDictObject*>(obj)->ma_keys);
    } else if (hasManagedDict(type)) {
        __builtin_prefetch(managedValues(obj));
    }
}

// Where a GC-tracked container keeps its elements when they live out of line (a list's item
// array, a dict's keys, a set's hash table), or 0: the allocation the tracer saw for them.
inline std::uintptr_t elementStorage(PyObject* obj) {
    PyTypeObject* type = Py_TYPE(obj);
    if (type == &PyList_Type) return reinterpret_cast<std::uintptr_t>(reinterpret_cast<PyListObject*>(obj)->ob_item);
    if (type == &PyDict_Type) return reinterpret_cast<std::uintptr_t>(reinterpret_cast<PyDictObject*>(obj)->ma_keys);
    if (type == &PySet_Type || type == &PyFrozenSet_Type) {
        auto* set = reinterpret_cast<PySetObject*>(obj);
        return set->table == set->smalltable ? 0 : reinterpret_cast<std::uintptr_t>(set->table);
    }
    return 0;
}

inline PyObject* modulesDict(PyInterpreterState* interp) {
#if PY_VERSION_HEX >= 0x030C0000
    return interp->imports.modules;
#else
    return interp->modules;
#endif
}
inline PyObject* builtinsDict(PyInterpreterState* interp) { return interp->builtins; }

// Frames are walked as the recorder walks them (entry and shim frames skipped).
using record::compat::callerFrame;
using record::compat::frameCode;
using record::compat::topFrame;

// The frame object made for a frame (by a tracer, a debugger or sys._getframe), or NULL.
inline PyObject* frameObject(Frame* frame) { return reinterpret_cast<PyObject*>(frame->frame_obj); }

// The frame's locals, cells and free variables (not its evaluation stack).
inline int frameLocalCount(Frame* frame) { return frameCode(frame)->co_nlocalsplus; }
inline PyObject* frameLocal(Frame* frame, int i) { return frame->localsplus[i]; }
// Calls fn for each value on the frame's evaluation stack, when its recorded stack top is
// plausible (a running frame's may be stale: callers compare the values, never follow them).
template <typename Fn>
void forEachStackValue(Frame* frame, Fn&& fn) {
    int base = frameLocalCount(frame);
    int top = frame->stacktop;
    if (top < base || top > base + frameCode(frame)->co_stacksize) return;
    for (int i = base; i < top; ++i) {
        if (frame->localsplus[i]) fn(frame->localsplus[i]);
    }
}
inline PyObject* localName(PyCodeObject* code, int i) {
    return PyTuple_GET_ITEM(code->co_localsplusnames, i);
}

// The frame a generator or coroutine runs in (embedded in the generator object).
inline Frame* generatorFrame(PyObject* gen) {
    return reinterpret_cast<Frame*>(reinterpret_cast<PyGenObject*>(gen)->gi_iframe);
}
inline bool generatorHasFrame(PyObject* gen) {
    return reinterpret_cast<PyGenObject*>(gen)->gi_frame_state < FRAME_CLEARED;
}
// The interpreter frame of a frame object.
inline Frame* frameOfFrameObject(PyObject* frame) { return reinterpret_cast<PyFrameObject*>(frame)->f_frame; }

// The size of a compact ASCII str, as str.__sizeof__ gives it; 0 for any other string (3.11 also
// keeps a wchar_t copy, when one was made, outside the object).
inline std::uint64_t compactAsciiSize(PyObject* str) {
    auto* ascii = reinterpret_cast<PyASCIIObject*>(str);
#if PY_VERSION_HEX >= 0x030C0000
    bool plain = ascii->state.compact && ascii->state.ascii;
#else
    bool plain = ascii->state.compact && ascii->state.ascii && ascii->wstr == nullptr;
#endif
    return plain ? sizeof(PyASCIIObject) + static_cast<std::uint64_t>(ascii->length) + 1 : 0;
}

// int.__sizeof__: the header and at least one digit (zero has none but is allocated with one).
// 3.12 moved the digit count from ob_size into the tag of long_value.
inline std::uint64_t intSize(PyObject* obj) {
#if PY_VERSION_HEX >= 0x030C0000
    auto* value = reinterpret_cast<PyLongObject*>(obj);
    Py_ssize_t digits = static_cast<Py_ssize_t>(value->long_value.lv_tag >> _PyLong_NON_SIZE_BITS);
    std::uint64_t header = offsetof(PyLongObject, long_value.ob_digit);
#else
    Py_ssize_t digits = Py_SIZE(obj) < 0 ? -Py_SIZE(obj) : Py_SIZE(obj);
    std::uint64_t header = offsetof(PyLongObject, ob_digit);
#endif
    return header + static_cast<std::uint64_t>(digits > 1 ? digits : 1) * sizeof(digit);
}

// Static strings of the interpreter: reading them allocates nothing.
inline PyObject* moduleKey() { return &_Py_ID(__module__); }

}  // namespace memhound::heap::compat
