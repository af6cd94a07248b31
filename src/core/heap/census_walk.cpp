#include "core/heap/census_walk.h"

#include <algorithm>
#include <vector>

#include "core/common/error.h"
#include "core/heap/gc_header_ids.h"
#include "core/heap/gc_pause.h"
#include "core/heap/object_index.h"
#include "core/heap/type_table.h"

namespace memhound::heap {

namespace {

// GC objects traversed before their references are counted, so that their memory arrives meanwhile.
constexpr std::size_t kBatch = 32;

std::uintptr_t addressOf(PyObject* obj) { return reinterpret_cast<std::uintptr_t>(obj); }

// Tracked objects are counted from the collector's lists, each once, so only the objects met
// through references need to be told apart from those already counted: an untracked GC object by
// a mark in its header (its address when the header is in use), a shared object without a GC
// header by its address. A non-GC object with a single reference, met through it, is met once.
class CensusWalker {
public:
    explicit CensusWalker(const CensusOptions& options)
        : m_options(options),
          m_interp(PyInterpreterState_Get()),
          m_exclude(options.exclude.begin(), options.exclude.end()) {}

    graph::TypeCensus run() {
        if (compat::gcIsCollecting(m_interp))
            throw common::Error("cannot take a census of the heap while the garbage collector runs");
        std::size_t blocks = compat::allocatedBlocks();  // calls into sys: before any pointer is held
        GcPause pause;
        collectFrameSeeds();
        std::sort(m_exclude.begin(), m_exclude.end());
        try {
            walk(blocks);
        } catch (...) {
            m_marks.restore();
            releaseDeferred();
            throw;
        }
        m_marks.restore();
        // Names first: a Python __sizeof__ may run any code, even code that frees a type.
        std::vector<graph::TypeTally> rows(m_types.size());
        for (std::uint32_t t = 0; t < m_types.size(); ++t) {
            rows[t] = {m_types.nameOf(TypeId(t)), static_cast<std::int64_t>(m_counts[t]),
                       static_cast<std::int64_t>(m_bytes[t])};
        }
        for (auto [obj, type] : m_deferred) {
            std::uint64_t size = pythonShallowSize(obj, m_types.infoOf(Py_TYPE(obj)));
            rows[type].bytes += static_cast<std::int64_t>(size);
        }
        releaseDeferred();
        std::erase_if(rows, [](const graph::TypeTally& row) { return row.count == 0; });
        return graph::TypeCensus(std::move(rows));
    }

private:
    bool excluded(PyObject* obj) const { return std::binary_search(m_exclude.begin(), m_exclude.end(), obj); }

    // The locals of every thread's frames and the threads' dicts: no object's traversal leads to
    // them. The census call's own frames are skipped, with their frame objects.
    void collectFrameSeeds() {
        for (PyThreadState* t = PyInterpreterState_ThreadHead(m_interp); t; t = PyThreadState_Next(t)) {
            for (compat::Frame* f = compat::topFrame(t); f; f = compat::callerFrame(f)) {
                if (m_options.skipCode.count(reinterpret_cast<PyObject*>(compat::frameCode(f)))) {
                    if (PyObject* frameObject = compat::frameObject(f)) m_exclude.push_back(frameObject);
                    continue;
                }
                for (int i = 0; i < compat::frameLocalCount(f); ++i) {
                    if (PyObject* value = compat::frameLocal(f, i)) m_seeds.push_back(value);
                }
            }
            if (t->dict) m_seeds.push_back(t->dict);
        }
    }

    // `blocks`: the allocator's live blocks, a bound on the objects to queue.
    void walk(std::size_t blocks) {
        m_queue.reserve(blocks / 2);
        compat::forEachTracked(m_interp, [&](PyObject* obj) {
            if (!excluded(obj)) m_queue.push_back(obj);
        });
        for (PyObject* obj : m_exclude) {
            bool inserted = false;
            m_index.findOrInsert(addressOf(obj), 0, inserted);
        }
        for (PyObject* seed : m_seeds) meet(seed, false);
        for (std::size_t first = 0, end = 0; first < m_queue.size(); first = end) {
            end = std::min(first + kBatch, m_queue.size());
            prefetchQueue(end);
            traverseBatch(first, end);
            for (std::size_t i = first; i < end; ++i) count(m_queue[i]);
            for (std::size_t c = 0; c < m_childCount; ++c) meet(m_children[c], true);
        }
    }

    // A reference to `obj` (or a frame local, when not `viaReference`): counts it the first time.
    void meet(PyObject* obj, bool viaReference) {
        if (compat::isGcObject(obj)) {
            // Tracked objects are all queued (or excluded) already.
            if (compat::isTracked(obj) || GcHeaderIds::idOf(obj) != GcHeaderIds::kNone) return;
            if (excluded(obj)) return;
            if (m_marks.tagUntracked(obj, 0)) {
                m_queue.push_back(obj);
                return;
            }
            bool inserted = false;
            m_index.findOrInsert(addressOf(obj), 0, inserted);
            if (inserted) m_queue.push_back(obj);
            return;
        }
        if (viaReference && Py_REFCNT(obj) == 1) {
            // Only a seed or an excluded object can be in the index already.
            if (m_index.find(addressOf(obj)) == ObjectIndex::kMissing) count(obj);
            return;
        }
        bool inserted = false;
        m_index.findOrInsert(addressOf(obj), 0, inserted);
        if (inserted) count(obj);
    }

    void count(PyObject* obj) {
        const TypeInfo& info = m_types.infoOf(Py_TYPE(obj));
        std::uint32_t type = info.id.value;
        if (type >= m_counts.size()) {
            m_counts.resize(type + 1, 0);
            m_bytes.resize(type + 1, 0);
        }
        ++m_counts[type];
        std::uint64_t size = 0;
        if (nativeShallowSize(obj, info, size)) {
            m_bytes[type] += size;
        } else {
            // Sized once no header holds a mark; held meanwhile, since that may run Python code.
            Py_INCREF(obj);
            m_deferred.push_back({obj, type});
        }
    }

    static int visit(PyObject* child, void* self) {
        auto* walker = static_cast<CensusWalker*>(self);
        if (child == nullptr) return 0;
        if (walker->m_childCount == walker->m_children.size()) walker->growChildren();
        walker->m_children[walker->m_childCount++] = child;
        return 0;
    }

    [[gnu::noinline, gnu::cold]] void growChildren() {
        m_children.resize(std::max<std::size_t>(1024, 2 * m_children.size()));
    }

    void prefetchQueue(std::size_t end) {
        std::size_t size = m_queue.size();
        for (std::size_t i = end + kBatch; i < std::min(end + 2 * kBatch, size); ++i)
            __builtin_prefetch(m_queue[i]);
        for (std::size_t i = end; i < std::min(end + kBatch, size); ++i) compat::prefetchContents(m_queue[i]);
    }

    void traverseBatch(std::size_t first, std::size_t end) {
        m_childCount = 0;
        for (std::size_t i = first; i < end; ++i) {
            PyObject* obj = m_queue[i];
            std::size_t start = m_childCount;
            if (traverseproc traverse = Py_TYPE(obj)->tp_traverse) traverse(obj, &CensusWalker::visit, this);
            for (std::size_t c = start; c < m_childCount; ++c) {
                __builtin_prefetch(m_children[c]);
                m_index.prefetch(addressOf(m_children[c]));
            }
        }
    }

    void releaseDeferred() {
        for (auto [obj, type] : m_deferred) Py_DECREF(obj);
        m_deferred.clear();
    }

    const CensusOptions& m_options;
    PyInterpreterState* m_interp;
    std::vector<PyObject*> m_exclude;  // sorted once the frames are seen
    std::vector<PyObject*> m_seeds;
    GcHeaderIds m_marks;                // untracked GC objects already counted (the id is unused)
    ObjectIndex m_index;                // addresses already counted (and the excluded ones)
    std::vector<PyObject*> m_queue;     // GC objects to count and traverse: the tracked ones first
    std::vector<PyObject*> m_children;  // [0, m_childCount): references of the batch
    std::size_t m_childCount = 0;
    std::vector<std::uint64_t> m_counts;  // type id -> objects
    std::vector<std::uint64_t> m_bytes;   // type id -> their shallow bytes
    std::vector<std::pair<PyObject*, std::uint32_t>> m_deferred;  // (object, type id): sized by Python
    TypeTable m_types;
};

}  // namespace

graph::TypeCensus censusHeap(const CensusOptions& options) { return CensusWalker(options).run(); }

}  // namespace memhound::heap
