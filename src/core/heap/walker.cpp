#include "core/heap/walker.h"

#include <algorithm>
#include <vector>

#include "core/common/error.h"
#include "core/graph/object_graph.h"
#include "core/heap/object_index.h"
#include "core/heap/type_table.h"

namespace memhound::heap {

namespace {

using graph::NodeId;
using graph::Root;
using graph::RootKind;

// Keeps the collector from running while we hold borrowed pointers; restores its state after.
class GcPause {
public:
    GcPause() : m_wasEnabled(PyGC_Disable() != 0) {}
    ~GcPause() {
        if (m_wasEnabled) PyGC_Enable();
    }
    GcPause(const GcPause&) = delete;
    GcPause& operator=(const GcPause&) = delete;

private:
    bool m_wasEnabled;
};

class Walker {
public:
    explicit Walker(const WalkOptions& options)
        : m_options(options),
          m_interp(PyInterpreterState_Get()),
          m_exclude(options.exclude.begin(), options.exclude.end()) {
        std::sort(m_exclude.begin(), m_exclude.end());
    }

    std::unique_ptr<HeapSnapshot> run() {
        if (compat::gcIsCollecting(m_interp))
            throw common::Error("cannot snapshot the heap while the garbage collector runs");
        GcPause pause;
        seedTracked();
        addModuleRoots();
        addThreadRoots();
        followReferences();
        sizeByPython();
        addExternalRoots();
        return finish();
    }

private:
    std::uint32_t idOf(PyObject* obj) {
        bool inserted = false;
        auto next = static_cast<std::uint32_t>(m_objects.size());
        std::uint32_t id = m_index.findOrInsert(reinterpret_cast<std::uintptr_t>(obj), next, inserted);
        if (inserted) {
            m_objects.push_back(obj);
            m_balance.push_back(0);
        }
        return id;
    }

    bool excluded(PyObject* obj) const { return std::binary_search(m_exclude.begin(), m_exclude.end(), obj); }

    // Ids for every tracked object, in list order. The list walk is a pointer chase; the index
    // inserts run behind it with their slots prefetched ahead.
    void seedTracked() {
        std::vector<PyObject*> tracked;
        tracked.reserve(1 << 16);
        compat::forEachTracked(m_interp, [&](PyObject* obj) { tracked.push_back(obj); });
        m_index = ObjectIndex(tracked.size() * 3);
        m_objects.reserve(tracked.size() * 3);
        m_balance.reserve(tracked.size() * 3);
        constexpr std::size_t kLookahead = 16;
        for (std::size_t i = 0; i < tracked.size(); ++i) {
            if (i + kLookahead < tracked.size())
                m_index.prefetch(reinterpret_cast<std::uintptr_t>(tracked[i + kLookahead]));
            if (!excluded(tracked[i])) idOf(tracked[i]);
        }
    }

    std::uint32_t labelOf(std::string text) {
        m_rootLabels.push_back(std::move(text));
        return static_cast<std::uint32_t>(m_rootLabels.size() - 1);
    }

    // Returns the root's node id, or kMissing when the object is excluded.
    std::uint32_t addRoot(PyObject* obj, RootKind kind, std::string label) {
        if (obj == nullptr || excluded(obj)) return ObjectIndex::kMissing;
        std::uint32_t id = idOf(obj);
        m_roots.push_back({NodeId(id), kind, labelOf(std::move(label))});
        return id;
    }

    // Every entry of sys.modules is a module root; the builtins module is the builtins root.
    void addModuleRoots() {
        PyObject* modules = compat::modulesDict(m_interp);
        PyObject* builtins = compat::builtinsDict(m_interp);
        Py_ssize_t pos = 0;
        PyObject *name, *module;
        while (modules && PyDict_Next(modules, &pos, &name, &module)) {
            bool isBuiltins = PyModule_Check(module) && PyModule_GetDict(module) == builtins;
            addRoot(module, isBuiltins ? RootKind::Builtins : RootKind::Module, utf8Of(name));
        }
    }

    void addThreadRoots() {
        for (PyThreadState* t = PyInterpreterState_ThreadHead(m_interp); t; t = PyThreadState_Next(t)) {
            std::string thread = threadLabel(t);
            for (compat::Frame* f = compat::topFrame(t); f; f = f->previous) addFrameRoots(f, thread);
            addRoot(t->dict, RootKind::Frame, thread + " state");
        }
    }

    std::string threadLabel(PyThreadState* t) const {
        auto it = m_options.threadNames.find(t->thread_id);
        std::string name =
            it != m_options.threadNames.end() ? it->second : "thread " + std::to_string(t->thread_id);
        return "Thread '" + name + "'";
    }

    // A frame's locals are references held by the frame: roots, and explained references. The
    // locals of the snapshot's own frames and every frame's evaluation stack (arguments of calls in
    // flight) are explained without being roots.
    void addFrameRoots(compat::Frame* frame, const std::string& thread) {
        PyCodeObject* code = compat::frameCode(frame);
        compat::forEachStackValue(frame, [&](PyObject* value) { m_unrootedRefs.push_back(value); });
        if (m_options.skipCode.count(reinterpret_cast<PyObject*>(code))) {
            for (int i = 0; i < compat::frameLocalCount(frame); ++i) {
                if (PyObject* value = compat::frameLocal(frame, i)) m_unrootedRefs.push_back(value);
            }
            return;
        }
        std::string function = utf8Of(code->co_qualname) + "()";
        for (int i = 0; i < compat::frameLocalCount(frame); ++i) {
            PyObject* value = compat::frameLocal(frame, i);
            std::string label =
                thread + " > " + function + " local '" + utf8Of(compat::localName(code, i)) + "'";
            std::uint32_t id = addRoot(value, RootKind::Frame, std::move(label));
            if (id != ObjectIndex::kMissing) --m_balance[id];
        }
    }

    static int visit(PyObject* child, void* self) {
        auto* walker = static_cast<Walker*>(self);
        if (child != nullptr) walker->m_pending.push_back(child);
        return 0;
    }

    // The references of one object become edges; their hash slots are prefetched as a batch.
    void addEdges(PyObject* obj) {
        traverseproc traverse = Py_TYPE(obj)->tp_traverse;
        if (traverse == nullptr || !compat::isGcObject(obj)) return;
        m_pending.clear();
        traverse(obj, &Walker::visit, this);
        for (PyObject* child : m_pending) m_index.prefetch(reinterpret_cast<std::uintptr_t>(child));
        for (PyObject* child : m_pending) {
            if (excluded(child)) continue;
            std::uint32_t id = idOf(child);
            --m_balance[id];
            m_builder.addEdge(NodeId(id));
        }
    }

    // Breadth-first over ids: objects found while handling node i get ids after the current end.
    void followReferences() {
        constexpr std::uint32_t kLookahead = 8;
        m_builder.reserve(m_objects.capacity(), m_objects.capacity() * 2);
        for (std::uint32_t i = 0; i < m_objects.size(); ++i) {
            // Two-stage prefetch: the object itself far ahead, what its traversal reads nearer.
            if (i + 2 * kLookahead < m_objects.size()) __builtin_prefetch(m_objects[i + 2 * kLookahead]);
            if (i + kLookahead < m_objects.size()) compat::prefetchContents(m_objects[i + kLookahead]);
            PyObject* obj = m_objects[i];
            const TypeInfo& info = m_types.infoOf(Py_TYPE(obj));
            NodeId node = m_builder.addNode(reinterpret_cast<std::uintptr_t>(obj) - info.preheader);
            m_builder.setType(node, info.id);
            std::uint64_t size = 0;
            if (nativeShallowSize(obj, info, size)) {
                m_builder.setSize(node, size);
            } else {
                m_sizeLater.push_back(i);
            }
            // Balance = references held minus references found; positive at the end: held from outside.
            m_balance[i] += Py_REFCNT(obj);
            m_builder.beginEdges(node);
            addEdges(obj);
        }
    }

    void sizeByPython() {
        for (std::uint32_t i : m_sizeLater) {
            PyObject* obj = m_objects[i];
            m_builder.setSize(NodeId(i), pythonShallowSize(obj, m_types.infoOf(Py_TYPE(obj))));
        }
    }

    // Held from outside the heap (C globals, the interpreter, the caller's stack): more references
    // than the heap and the frames explain.
    void addExternalRoots() {
        // Compared by address only: a stale stack slot is never followed.
        for (PyObject* ref : m_unrootedRefs) {
            std::uint32_t id = m_index.find(reinterpret_cast<std::uintptr_t>(ref));
            if (id != ObjectIndex::kMissing) --m_balance[id];
        }
        std::uint32_t label = labelOf("<held outside the heap>");
        for (std::uint32_t i = 0; i < m_objects.size(); ++i) {
            if (m_balance[i] > 0) {
                m_roots.push_back({NodeId(i), RootKind::External, label});
            }
        }
    }

    std::unique_ptr<HeapSnapshot> finish() {
        for (const Root& root : m_roots) m_builder.addRoot(root);
        graph::SnapshotData data;
        data.graph = m_builder.finish();
        data.rootLabels = std::move(m_rootLabels);
        std::vector<TypeMeta> types;
        for (std::uint32_t t = 0; t < m_types.size(); ++t) {
            PyTypeObject* type = m_types.type(TypeId(t));
            data.typeNames.push_back(m_types.nameOf(TypeId(t)));
            types.push_back({reinterpret_cast<std::uintptr_t>(type),
                             static_cast<std::uint8_t>(compat::preheaderSize(type))});
        }
        return std::make_unique<HeapSnapshot>(std::move(data), std::move(types), true);
    }

    const WalkOptions& m_options;
    PyInterpreterState* m_interp;
    ObjectIndex m_index;
    std::vector<PyObject*> m_objects;       // node id -> object, also the breadth-first queue
    std::vector<PyObject*> m_exclude;       // sorted
    std::vector<PyObject*> m_pending;       // references of the object being handled
    std::vector<PyObject*> m_unrootedRefs;  // references explained but not roots (see addFrameRoots)
    std::vector<std::int64_t> m_balance;    // node id -> refcount minus references found
    std::vector<std::uint32_t> m_sizeLater;
    std::vector<Root> m_roots;
    std::vector<std::string> m_rootLabels;
    TypeTable m_types;
    graph::GraphBuilder m_builder;
};

}  // namespace

std::unique_ptr<HeapSnapshot> walkHeap(const WalkOptions& options) { return Walker(options).run(); }

}  // namespace memhound::heap
