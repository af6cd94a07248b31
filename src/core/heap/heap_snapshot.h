#pragma once
// One heap snapshot: the object graph with its type names and root labels, the graph analyses
// (computed on first use), and, while the snapshot is live in its process, labelled paths over
// the real objects. Every access to an object first proves it is still alive (it is a root found
// again, or it was reached from a proven object through a reference found again), so an old
// snapshot never reads freed memory.
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/graph/census.h"
#include "core/graph/diff.h"
#include "core/graph/dominators.h"
#include "core/graph/paths.h"
#include "core/graph/snapshot_file.h"
#include "core/heap/heap_compat.h"
#include "core/heap/labels.h"

namespace memhound::heap {

using graph::NodeId;

// Per type id: the type object's address (compared, never followed) and its preheader size.
struct TypeMeta {
    std::uintptr_t address = 0;
    std::uint8_t preheader = 0;
};

struct PathStep {
    EdgeKind kind = EdgeKind::Other;
    std::string text;
    std::string owner;
    NodeId to;
};

struct LabelledPath {
    static constexpr std::uint32_t kNoRoot = 0xffffffffu;
    std::uint32_t root = 0;       // index into graph().roots(), or kNoRoot (see pathVia)
    NodeId start;                 // the root's node
    std::vector<PathStep> steps;  // connector steps included; callers hide them
};

class HeapSnapshot {
public:
    HeapSnapshot(graph::SnapshotData data, std::vector<TypeMeta> types, bool live);

    const graph::ObjectGraph& graph() const { return m_data.graph; }
    const graph::SnapshotData& data() const { return m_data; }
    bool live() const { return m_live; }
    const std::string& typeName(NodeId node) const { return m_data.typeNames[graph().type(node).value]; }

    // Graph analyses, computed once (safe without the GIL: they touch no object).
    const graph::DominatorTree& dominators();
    const graph::ShortestPaths& paths();

    std::optional<NodeId> nodeOfObject(PyObject* obj) const;
    // id() of the node's object as it was when walked (its address after the preheader).
    std::uintptr_t objectId(NodeId node) const { return objectAddress(node); }
    // The node of the object allocated at `address`; in a live snapshot, else the node of the
    // container whose element storage (list items, dict keys, set table) was allocated there:
    // a list taken from the free list leaves only its item array in the trace.
    std::optional<NodeId> nodeOfAllocation(std::uint64_t address);
    // The object of `node` if it is provably the same live object, else nullptr (borrowed).
    PyObject* liveObject(NodeId node);

    std::optional<LabelledPath> pathTo(NodeId node);
    // The path to `to` that ends with the reference from -> to: the shortest path to `from`, then
    // that reference, each step labelled (the last one as the step from `from`'s own parent). When
    // no root reaches `from`, `root` is kNoRoot, `start` is `from` and the steps hold the last one.
    LabelledPath pathVia(NodeId from, NodeId to);
    // A shortest reference cycle through `node` as steps ending back at `node`.
    std::optional<std::vector<PathStep>> cycleOf(NodeId node);

    // Forgets the roots that are only the asker's own references to `node`: the asking thread's
    // frame locals (labels starting with `threadPrefix`). The analyses are recomputed on next use.
    void dropCallerRoots(NodeId node, const std::string& threadPrefix);

    // Joins the tracer's live allocations (address, seq, stack) to nodes by allocation address.
    void setAllocations(
        const std::vector<std::tuple<std::uint64_t, std::uint64_t, std::uint32_t>>& allocations);
    const std::vector<std::uint64_t>& sequences() const { return m_data.sequences; }

    // Labels every shortest-path edge (for offline use), then writes the file.
    void save(const std::string& path);

private:
    std::uintptr_t objectAddress(NodeId node) const;
    std::optional<NodeId> nodeOwningStorage(std::uint64_t address) const;
    PyObject* provenRoot(std::uint32_t rootIndex);
    bool isTracked(PyObject* obj) const;
    PyObject* labelSteps(PyObject* first, PyObject* before, const std::vector<NodeId>& nodes,
                         std::vector<PathStep>& steps);
    void storedSteps(const std::vector<NodeId>& nodes, std::vector<PathStep>& steps) const;
    void computePathLabels();
    std::uint32_t intern(const std::string& text);

    graph::SnapshotData m_data;
    std::vector<TypeMeta> m_types;
    bool m_live;
    std::unique_ptr<graph::DominatorTree> m_dominators;
    std::unique_ptr<graph::ShortestPaths> m_paths;
    std::mutex m_analysisLock;               // the analyses may be computed by a thread without the GIL
    std::vector<std::uint32_t> m_byAddress;  // node ids sorted by allocation address, on first use
    std::unordered_map<std::string, std::uint32_t> m_stringIndex;
    const std::unordered_set<PyObject*>* m_trackedDuringSave = nullptr;  // set only inside save()
};

}  // namespace memhound::heap
