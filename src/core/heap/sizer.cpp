#include "core/heap/sizer.h"

#include <algorithm>

#include "core/heap/gc_pause.h"

namespace memhound::heap {

namespace {

// Objects whose references are collected before any of them is looked up (see followBatch), and
// how far ahead of the lookups their memory is requested.
constexpr std::size_t kBatch = 32;
constexpr std::size_t kAhead = 16;

// The array whose data a numpy-like view uses, read through the type's own C descriptor (never
// Python code); a new reference, or nullptr.
PyObject* bufferBase(PyObject* obj, const TypeInfo& info) {
    PyObject* descr = info.baseDescriptor;
    PyObject* base = Py_TYPE(descr)->tp_descr_get(descr, obj, reinterpret_cast<PyObject*>(info.type));
    if (base == nullptr) PyErr_Clear();
    return base;
}

}  // namespace

ObjectSizer::ObjectSizer(SizerOptions options) : m_options(options) {
    if (m_options.align == 0) m_options.align = 1;
}

ObjectSizer::~ObjectSizer() {
    for (PyObject* obj : m_held) Py_DECREF(obj);
}

bool ObjectSizer::counts(const TypeInfo& info) const {
    switch (info.role) {
        case Role::Structure:
            return m_options.structure;
        case Role::Code:
            return m_options.code;
        default:
            return true;
    }
}

bool ObjectSizer::remember(PyObject* obj) {
    bool inserted = false;
    m_seen.findOrInsert(reinterpret_cast<std::uintptr_t>(obj), 0, inserted);
    return inserted;
}

std::uint64_t ObjectSizer::add(PyObject* obj) {
    if (!remember(obj)) return 0;
    std::uint64_t before = m_total;
    std::size_t firstDeferred = m_deferred.size();
    std::size_t next = m_objects.size();
    {
        GcPause pause;
        record(obj, m_types.infoOf(Py_TYPE(obj)), SizedObject::kNoParent, 0);
        for (std::size_t first = next, end = 0; first < m_objects.size(); first = end) {
            end = std::min(first + kBatch, m_objects.size());
            followBatch(first, end);
        }
    }
    sizeDeferred(firstDeferred);
    return m_total - before;
}

// Collects the references of a batch of objects, then looks each up while the header and seen-set
// slot of the one kAhead further are loading: the misses overlap instead of queueing.
void ObjectSizer::followBatch(std::size_t first, std::size_t end) {
    for (std::size_t i = end; i < std::min(end + kBatch, m_objects.size()); ++i)
        compat::prefetchContents(m_objects[i].obj);
    m_pending.clear();
    for (std::size_t i = first; i < end; ++i) visitReferences(static_cast<std::uint32_t>(i));
    for (std::size_t i = 0; i < m_pending.size(); ++i) {
        if (i + kAhead < m_pending.size()) {
            PyObject* ahead = m_pending[i + kAhead].child;
            __builtin_prefetch(ahead);
            m_seen.prefetch(reinterpret_cast<std::uintptr_t>(ahead));  // wasted for single references
        }
        reach(m_pending[i]);
    }
}

void ObjectSizer::visitReferences(std::uint32_t index) {
    PyObject* obj = m_objects[index].obj;
    if (m_options.limit && m_objects[index].level >= *m_options.limit) return;
    const TypeInfo& info = m_types.infoOf(Py_TYPE(obj));
    m_current = index;
    m_skipA = m_skipB = nullptr;
    if (!m_options.structure && info.role == Role::Function) {
        auto* function = reinterpret_cast<PyFunctionObject*>(obj);
        m_skipA = function->func_globals;
        m_skipB = function->func_builtins;
    }
    // A static type has tp_traverse (type's) but is no GC object: traversing it is an error.
    if (info.type->tp_traverse != nullptr && compat::isGcObject(obj)) {
        info.type->tp_traverse(obj, &ObjectSizer::visit, this);
        reachKeys(obj, index);
    } else if (info.baseDescriptor != nullptr) {
        if (PyObject* base = bufferBase(obj, info)) {
            m_pending.push_back({base, index, false});
            Py_DECREF(base);  // the array holds its base: still alive
        }
    }
}

// A dict's traversal leaves out str keys (they cannot form cycles), and an instance without a dict
// keeps its attribute names in its class's shared keys: both are counted as the dict's would be.
// Shared keys are counted once, with all their names, by the first instance or dict that uses them.
void ObjectSizer::reachKeys(PyObject* obj, std::uint32_t index) {
    if (PyDict_Check(obj)) {
        auto* dict = reinterpret_cast<PyDictObject*>(obj);
        if (!DK_IS_UNICODE(dict->ma_keys)) return;  // its traversal visits its keys
        if (dict->ma_values != nullptr) return reachSharedKeys(dict->ma_keys, index);
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(obj, &pos, &key, &value)) m_pending.push_back({key, index, false});
    } else if (compat::hasManagedDict(Py_TYPE(obj))) {
        if (compat::managedValues(obj) == nullptr) return;
        reachSharedKeys(compat::sharedKeys(Py_TYPE(obj)), index);
        // 3.13 does not traverse a __dict__ made while the instance's own values are in use.
        if (PyObject* dict = compat::managedDict(obj)) m_pending.push_back({dict, index, false});
    }
}

void ObjectSizer::reachSharedKeys(PyDictKeysObject* keys, std::uint32_t index) {
    // Instances of one class come in runs: the last keys answer most calls without a lookup.
    if (keys == nullptr || keys == m_lastSharedKeys) return;
    m_lastSharedKeys = keys;
    if (!m_sharedKeys.insert(keys).second) return;
    for (Py_ssize_t i = 0; i < compat::sharedKeyCount(keys); ++i)
        m_pending.push_back({compat::sharedKey(keys, i), index, false});
}

int ObjectSizer::visit(PyObject* child, void* self) {
    auto* sizer = static_cast<ObjectSizer*>(self);
    if (child != nullptr && child != sizer->m_skipA && child != sizer->m_skipB)
        sizer->m_pending.push_back({child, sizer->m_current, true});
    return 0;
}

void ObjectSizer::reach(const Pending& pending) {
    PyObject* child = pending.child;
    const TypeInfo& info = m_types.infoOf(Py_TYPE(child));
    if (!counts(info)) return;
    // A traversal visits each reference its object owns once, and every object is traversed once,
    // so an object with a single reference cannot be met again: no need to remember it.
    bool single = pending.traversed && Py_REFCNT(child) == 1;
    if (single || remember(child)) record(child, info, pending.parent, m_objects[pending.parent].level + 1);
}

// Counts the object; keeps it in m_objects when it has references to follow, a size only Python
// can give, or a place in the tree.
void ObjectSizer::record(PyObject* obj, const TypeInfo& info, std::uint32_t parent, std::uint32_t level) {
    if (m_options.holdLevel && level <= *m_options.holdLevel) m_held.push_back(Py_NewRef(obj));
    std::uint64_t size = 0;
    bool native = nativeShallowSize(obj, info, size);
    std::uint64_t flat = native ? aligned(size + ownBytes(obj)) : 0;
    m_total += flat;
    if (native && !info.hasReferences() && !m_options.tree) return;
    if (!native) {
        m_deferred.push_back(static_cast<std::uint32_t>(m_objects.size()));
        Py_INCREF(obj);
    }
    m_objects.push_back({obj, parent, level, flat});
}

// Bytes to add to sys.getsizeof's figure: attribute values kept outside a dict, less what a dict's owner
// already counts of it.
std::int64_t ObjectSizer::ownBytes(PyObject* obj) {
    std::int64_t extra = static_cast<std::int64_t>(compat::inlineValuesBytes(obj));
    if (PyDict_Check(obj)) extra -= static_cast<std::int64_t>(compat::dictBytesInOwner(obj));
    return extra;
}

std::uint64_t ObjectSizer::aligned(std::uint64_t size) const {
    return (size + m_options.align - 1) / m_options.align * m_options.align;
}

// Sizes through Python, after the traversal: a __sizeof__ written in Python may run any code.
void ObjectSizer::sizeDeferred(std::size_t firstDeferred) {
    for (std::size_t i = firstDeferred; i < m_deferred.size(); ++i) {
        SizedObject& sized = m_objects[m_deferred[i]];
        std::uint64_t size = pythonShallowSize(sized.obj, m_types.infoOf(Py_TYPE(sized.obj)));
        sized.flat = aligned(size + ownBytes(sized.obj));
        m_total += sized.flat;
        Py_DECREF(sized.obj);
    }
    m_deferred.resize(firstDeferred);
}

EdgeLabel ObjectSizer::labelOf(std::uint32_t index) const {
    EdgeLabel label;
    const SizedObject& sized = m_objects[index];
    if (sized.parent == SizedObject::kNoParent) return label;
    const SizedObject& from = m_objects[sized.parent];
    PyObject* before = from.parent != SizedObject::kNoParent ? m_objects[from.parent].obj : nullptr;
    if (labelEdge(before, from.obj, sized.obj, label)) return label;
    // Not a reference the traversal names: one of the keys reachKeys() adds.
    label = {EdgeKind::Other, PyDict_Check(from.obj) ? "<key>" : "<attribute name>", ""};
    return label;
}

std::vector<std::uint64_t> ObjectSizer::ownedSizes() const {
    std::vector<std::uint64_t> owned(m_objects.size());
    // Breadth-first order puts every parent before its children: one backward pass sums subtrees.
    for (std::size_t i = m_objects.size(); i-- > 0;) {
        owned[i] += m_objects[i].flat;
        if (m_objects[i].parent != SizedObject::kNoParent) owned[m_objects[i].parent] += owned[i];
    }
    return owned;
}

}  // namespace memhound::heap
