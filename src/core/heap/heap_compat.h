#pragma once
// The heap walker's view of CPython 3.11 internals: the GC generation lists, object preheaders,
// inline (managed) instance values and interpreter frames. Every heap file that needs the
// interpreter includes this header first, so Py_BUILD_CORE is set before Python.h.
#ifndef Py_BUILD_CORE
#define Py_BUILD_CORE 1
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
// pycore_atomic.h uses C11 <stdatomic.h>, which C++ cannot include; its GCC-builtin variant has
// the same layout (one machine word per atomic), so select that one.
#undef HAVE_STD_ATOMIC
#include <internal/pycore_dict.h>
#include <internal/pycore_frame.h>
#include <internal/pycore_interp.h>
#include <internal/pycore_object.h>
#include <internal/pycore_pymem.h>

#include <string>

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030C0000
#error "memhound's heap walker reads CPython 3.11 internals; other versions are not supported"
#endif

namespace memhound::heap::compat {

using Frame = _PyInterpreterFrame;

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
// buffers (list items, dict tables). Zero when the interpreter runs without pymalloc.
inline std::size_t allocatedBlocks() { return static_cast<std::size_t>(_Py_GetAllocatedBlocks()); }

inline bool gcIsCollecting(PyInterpreterState* interp) { return interp->gc.collecting != 0; }

// Bytes in front of the object proper: the GC header and the managed-dict pointers. The
// allocator returned (char*)obj - preheader, which is the address the recorder saw.
inline std::size_t preheaderSize(PyTypeObject* type) { return _PyType_PreHeaderSize(type); }

inline bool isGcObject(PyObject* obj) { return _PyObject_IS_GC(obj) != 0; }

inline bool hasManagedDict(PyTypeObject* type) { return PyType_HasFeature(type, Py_TPFLAGS_MANAGED_DICT); }

// The inline values of an instance whose __dict__ was never created (NULL otherwise).
inline PyDictValues* managedValues(PyObject* obj) { return *_PyObject_ValuesPointer(obj); }
inline PyObject* managedDict(PyObject* obj) { return *_PyObject_ManagedDictPointer(obj); }

// The attribute names that go with managedValues(): the type's shared keys.
inline PyDictKeysObject* sharedKeys(PyTypeObject* type) {
    return reinterpret_cast<PyHeapTypeObject*>(type)->ht_cached_keys;
}
inline Py_ssize_t sharedKeyCount(PyDictKeysObject* keys) { return keys->dk_nentries; }
inline PyObject* sharedKey(PyDictKeysObject* keys, Py_ssize_t i) {
    return DK_UNICODE_ENTRIES(keys)[i].me_key;
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

inline PyObject* modulesDict(PyInterpreterState* interp) { return interp->modules; }
inline PyObject* builtinsDict(PyInterpreterState* interp) { return interp->builtins; }

inline Frame* topFrame(PyThreadState* tstate) {
    return tstate->cframe ? tstate->cframe->current_frame : nullptr;
}
inline PyCodeObject* frameCode(Frame* frame) { return frame->f_code; }
// The frame's locals, cells and free variables (not its evaluation stack).
inline int frameLocalCount(Frame* frame) { return frame->f_code->co_nlocalsplus; }
inline PyObject* frameLocal(Frame* frame, int i) { return frame->localsplus[i]; }
// Calls fn for each value on the frame's evaluation stack, when its recorded stack top is
// plausible (a running frame's may be stale: callers compare the values, never follow them).
template <typename Fn>
void forEachStackValue(Frame* frame, Fn&& fn) {
    int base = frame->f_code->co_nlocalsplus;
    int top = frame->stacktop;
    if (top < base || top > base + frame->f_code->co_stacksize) return;
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

// Static strings of the interpreter: reading them allocates nothing.
inline PyObject* moduleKey() { return &_Py_ID(__module__); }

}  // namespace memhound::heap::compat
