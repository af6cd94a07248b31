#include "core/heap/walker.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "core/common/error.h"
#include "core/graph/object_graph.h"
#include "core/heap/gc_header_ids.h"
#include "core/heap/gc_pause.h"
#include "core/heap/object_index.h"
#include "core/heap/type_table.h"

namespace memhound::heap {

namespace {

using graph::NodeId;
using graph::Root;
using graph::RootKind;

// The id of an object the caller asked to leave out: neither counted nor followed.
constexpr std::uint32_t kExcluded = 0xfffffffeu;

// GC objects traversed before their references are linked (see followReferences).
constexpr std::size_t kBatch = 32;

// How many times each address occurs among some references, asked for every new node: a
// 4096-bit filter answers most questions with one load.
class AddressCounts {
public:
    void add(PyObject* obj) {
        ++m_counts[obj];
        m_filter[bitOf(obj) / 64] |= std::uint64_t(1) << (bitOf(obj) % 64);
    }
    std::int64_t count(PyObject* obj) const {
        if (!((m_filter[bitOf(obj) / 64] >> (bitOf(obj) % 64)) & 1)) return 0;
        auto it = m_counts.find(obj);
        return it == m_counts.end() ? 0 : it->second;
    }

private:
    static constexpr std::size_t kBits = 4096;
    static std::size_t bitOf(PyObject* obj) { return (reinterpret_cast<std::uintptr_t>(obj) >> 4) % kBits; }

    std::uint64_t m_filter[kBits / 64] = {};
    std::unordered_map<PyObject*, std::int64_t> m_counts;
};

// A root found before any id is given: its object, why it is a root and its label. A frame
// local is `held`: the frame's reference explains one of the object's references.
struct RootRef {
    PyObject* obj;
    RootKind kind;
    std::string label;
    bool held;
};

std::uintptr_t addressOf(PyObject* obj) { return reinterpret_cast<std::uintptr_t>(obj); }

class Walker {
public:
    explicit Walker(const WalkOptions& options)
        : m_options(options),
          m_interp(PyInterpreterState_Get()),
          m_exclude(options.exclude.begin(), options.exclude.end()) {}

    std::unique_ptr<HeapSnapshot> run() {
        if (compat::gcIsCollecting(m_interp))
            throw common::Error("cannot snapshot the heap while the garbage collector runs");
        GcPause pause;
        collectModuleRoots();
        collectThreadRoots();
        std::sort(m_exclude.begin(), m_exclude.end());
        buildGraph();
        sizeByPython();
        addExternalRoots();
        return finish();
    }

private:
    // Gives ids, sizes and edges. GC objects hold their ids in their headers meanwhile; every
    // header is back to normal when this returns or throws.
    void buildGraph() {
        try {
            seedTracked();
            addRoots();
            followReferences();
        } catch (...) {
            m_gcIds.restore();
            throw;
        }
        m_gcIds.restore();
    }

    bool excluded(PyObject* obj) const { return std::binary_search(m_exclude.begin(), m_exclude.end(), obj); }

    std::uint32_t nextId() const { return m_builder.nodeCount(); }

    // How the walk met an object: as a root, or through a reference a traversal visited.
    enum class Via { Root, Reference };

    // obj's node id, making its node the first time; kExcluded for the caller's objects.
    std::uint32_t idOf(PyObject* obj, Via via) {
        bool gc = compat::isGcObject(obj);
        if (gc) {
            std::uint32_t id = GcHeaderIds::idOf(obj);
            if (id != GcHeaderIds::kNone) return id;
            if (!compat::isTracked(obj) && !excluded(obj) && m_gcIds.tagUntracked(obj, nextId()))
                return addNode(obj, true);
        }
        return indexedIdOf(obj, gc, via);
    }

    // Objects without a GC header (and a GC object whose header cannot hold an id): by address.
    // A non-GC object with a single reference, met through it, stays out of the index (most str,
    // int and float objects): no other reference can lead to it, since a traversal visits the
    // references its object owns, each once (the collector's counting relies on it too). Looking
    // it up still finds the roots and the caller's objects.
    std::uint32_t indexedIdOf(PyObject* obj, bool gc, Via via) {
        if (!gc && via == Via::Reference && Py_REFCNT(obj) == 1) {
            std::uint32_t id = m_index.find(addressOf(obj));
            return id != ObjectIndex::kMissing ? id : addNode(obj, false);
        }
        bool inserted = false;
        std::uint32_t id = m_index.findOrInsert(addressOf(obj), nextId(), inserted);
        return inserted ? addNode(obj, gc) : id;
    }

    // The id of a queued GC object (it has one).
    std::uint32_t queuedId(PyObject* obj) const {
        std::uint32_t id = GcHeaderIds::idOf(obj);
        return id != GcHeaderIds::kNone ? id : m_index.find(addressOf(obj));
    }

    // A new node: GC objects wait in the queue for their size and references; others are sized now.
    std::uint32_t addNode(PyObject* obj, bool gc) {
        const TypeInfo& info = m_types.infoOf(Py_TYPE(obj));
        NodeId node = m_builder.addNode(addressOf(obj) - info.preheader);
        m_builder.setType(node, info.id);
        // Balance = references held minus references found; positive at the end: held from outside.
        m_balance.push_back(compat::isImmortal(obj) ? 0 : Py_REFCNT(obj) - m_unrooted.count(obj));
        if (gc) {
            m_queue.push_back(obj);
        } else {
            setSize(node, obj, info);
        }
        return node.value;
    }

    void setSize(NodeId node, PyObject* obj, const TypeInfo& info) {
        std::uint64_t size = 0;
        if (nativeShallowSize(obj, info, size)) {
            m_builder.setSize(node, size);
        } else {
            m_sizeLater.push_back({obj, node.value});
        }
    }

    // Ids for every tracked object, in list order.
    void seedTracked() {
        std::size_t blocks = compat::allocatedBlocks();
        m_balance.reserve(blocks);
        m_builder.reserve(blocks, blocks);
        m_gcIds.tagTracked(m_interp,
                           [&](PyObject* obj) { return excluded(obj) ? kExcluded : addNode(obj, true); });
        for (PyObject* obj : m_exclude) {
            bool inserted = false;
            m_index.findOrInsert(addressOf(obj), kExcluded, inserted);
        }
    }

    void addRootRef(PyObject* obj, RootKind kind, std::string label, bool held = false) {
        if (obj != nullptr) m_rootRefs.push_back({obj, kind, std::move(label), held});
    }

    // Every entry of sys.modules is a module root; the builtins module is the builtins root.
    void collectModuleRoots() {
        PyObject* modules = compat::modulesDict(m_interp);
        PyObject* builtins = compat::builtinsDict(m_interp);
        Py_ssize_t pos = 0;
        PyObject *name, *module;
        while (modules && PyDict_Next(modules, &pos, &name, &module)) {
            bool isBuiltins = PyModule_Check(module) && PyModule_GetDict(module) == builtins;
            addRootRef(module, isBuiltins ? RootKind::Builtins : RootKind::Module, utf8Of(name));
        }
    }

    void collectThreadRoots() {
        for (PyThreadState* t = PyInterpreterState_ThreadHead(m_interp); t; t = PyThreadState_Next(t)) {
            std::string thread = threadLabel(t);
            for (compat::Frame* f = compat::topFrame(t); f; f = compat::callerFrame(f)) collectFrameRoots(f, thread);
            addRootRef(t->dict, RootKind::Frame, thread + " state");
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
    void collectFrameRoots(compat::Frame* frame, const std::string& thread) {
        PyCodeObject* code = compat::frameCode(frame);
        compat::forEachStackValue(frame, [&](PyObject* value) { m_unrooted.add(value); });
        if (m_options.skipCode.count(reinterpret_cast<PyObject*>(code))) {
            // A tracer or debugger may have made a frame object for it: that is ours too.
            if (PyObject* frameObject = compat::frameObject(frame)) m_exclude.push_back(frameObject);
            for (int i = 0; i < compat::frameLocalCount(frame); ++i) {
                if (PyObject* value = compat::frameLocal(frame, i)) m_unrooted.add(value);
            }
            return;
        }
        std::string function = utf8Of(code->co_qualname) + "()";
        for (int i = 0; i < compat::frameLocalCount(frame); ++i) {
            PyObject* value = compat::frameLocal(frame, i);
            if (value == nullptr) continue;
            std::string label =
                thread + " > " + function + " local '" + utf8Of(compat::localName(code, i)) + "'";
            addRootRef(value, RootKind::Frame, std::move(label), true);
        }
    }

    std::uint32_t labelOf(std::string text) {
        m_rootLabels.push_back(std::move(text));
        return static_cast<std::uint32_t>(m_rootLabels.size() - 1);
    }

    void addRoots() {
        for (RootRef& ref : m_rootRefs) {
            std::uint32_t id = idOf(ref.obj, Via::Root);
            if (id == kExcluded) continue;
            m_roots.push_back({NodeId(id), ref.kind, labelOf(std::move(ref.label))});
            if (ref.held) --m_balance[id];
        }
    }

    // Called once per reference: the common path saves no registers, the growth path is out of line.
    static int visit(PyObject* child, void* self) {
        auto* walker = static_cast<Walker*>(self);
        if (child == nullptr) return 0;
        if (walker->m_childCount == walker->m_children.size()) walker->growChildren();
        walker->m_children[walker->m_childCount++] = child;
        return 0;
    }

    [[gnu::noinline, gnu::cold]] void growChildren() {
        m_children.resize(std::max<std::size_t>(1024, 2 * m_children.size()));
    }

    // Breadth-first over the GC objects in id order, a batch at a time: objects found while
    // handling one get the next ids, and those that are GC objects join the queue. A batch is
    // traversed before any of its references is linked, so that their memory arrives meanwhile.
    void followReferences() {
        for (std::size_t first = 0, end = 0; first < m_queue.size(); first = end) {
            end = std::min(first + kBatch, m_queue.size());
            prefetchQueue(end);
            traverseBatch(first, end);
            linkBatch(first, end);
        }
    }

    // Two stages: the objects of the next batch but one, and what the next batch's traversal reads
    // (its objects arrived during this batch).
    void prefetchQueue(std::size_t end) {
        std::size_t size = m_queue.size();
        for (std::size_t i = end + kBatch; i < std::min(end + 2 * kBatch, size); ++i)
            __builtin_prefetch(m_queue[i]);
        for (std::size_t i = end; i < std::min(end + kBatch, size); ++i) compat::prefetchContents(m_queue[i]);
    }

    // Collects the batch's references and starts loading what linking them reads: each child's
    // header, and its index slot in case it has no GC header.
    void traverseBatch(std::size_t first, std::size_t end) {
        m_childCount = 0;
        m_childrenEnd.clear();
        for (std::size_t i = first; i < end; ++i) {
            PyObject* obj = m_queue[i];
            std::size_t start = m_childCount;
            if (traverseproc traverse = Py_TYPE(obj)->tp_traverse) traverse(obj, &Walker::visit, this);
            for (std::size_t c = start; c < m_childCount; ++c) {
                __builtin_prefetch(m_children[c]);
                m_index.prefetch(addressOf(m_children[c]));
            }
            m_childrenEnd.push_back(m_childCount);
        }
    }

    void linkBatch(std::size_t first, std::size_t end) {
        std::size_t child = 0;
        for (std::size_t i = first; i < end; ++i) {
            PyObject* obj = m_queue[i];
            NodeId node(queuedId(obj));
            setSize(node, obj, m_types.infoOf(Py_TYPE(obj)));
            m_builder.beginEdges(node);
            for (; child < m_childrenEnd[i - first]; ++child) link(m_children[child]);
        }
    }

    void link(PyObject* child) {
        std::uint32_t id = idOf(child, Via::Reference);
        if (id == kExcluded) return;
        --m_balance[id];
        m_builder.addEdge(NodeId(id));
    }

    void sizeByPython() {
        for (auto [obj, id] : m_sizeLater) {
            m_builder.setSize(NodeId(id), pythonShallowSize(obj, m_types.infoOf(Py_TYPE(obj))));
        }
    }

    // Held from outside the heap (C globals, the interpreter, the caller's stack): more references
    // than the heap and the frames explain.
    void addExternalRoots() {
        std::uint32_t label = labelOf("<held outside the heap>");
        for (std::uint32_t i = 0; i < m_balance.size(); ++i) {
            if (m_balance[i] > 0) m_roots.push_back({NodeId(i), RootKind::External, label});
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
    std::vector<PyObject*> m_exclude;  // sorted once the frames are seen
    std::vector<RootRef> m_rootRefs;
    AddressCounts m_unrooted;  // references explained but not roots (see collectFrameRoots)
    GcHeaderIds m_gcIds;
    ObjectIndex m_index;
    std::vector<PyObject*> m_queue;     // GC nodes in id order: the breadth-first queue
    std::vector<PyObject*> m_children;  // [0, m_childCount): references of the batch, in order
    std::size_t m_childCount = 0;
    std::vector<std::size_t> m_childrenEnd;  // per object of the batch: its end in m_children
    std::vector<std::int64_t> m_balance;     // node id -> refcount minus references found
    std::vector<std::pair<PyObject*, std::uint32_t>> m_sizeLater;  // (object, node id)
    std::vector<Root> m_roots;
    std::vector<std::string> m_rootLabels;
    TypeTable m_types;
    graph::GraphBuilder m_builder;
};

}  // namespace

std::unique_ptr<HeapSnapshot> walkHeap(const WalkOptions& options) { return Walker(options).run(); }

}  // namespace memhound::heap
