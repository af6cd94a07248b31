#include "core/heap/heap_snapshot.h"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "core/common/error.h"
#include "core/heap/type_table.h"

namespace memhound::heap {

namespace {

PyObject* asObject(std::uintptr_t address) { return reinterpret_cast<PyObject*>(address); }

bool isFrameLocalOrThreadDict(PyObject* obj) {
    PyInterpreterState* interp = PyInterpreterState_Get();
    for (PyThreadState* t = PyInterpreterState_ThreadHead(interp); t; t = PyThreadState_Next(t)) {
        if (t->dict == obj) return true;
        for (compat::Frame* f = compat::topFrame(t); f; f = compat::callerFrame(f)) {
            for (int i = 0; i < compat::frameLocalCount(f); ++i) {
                if (compat::frameLocal(f, i) == obj) return true;
            }
        }
    }
    return false;
}

bool isModuleNamed(PyObject* obj, const std::string& name) {
    PyObject* modules = compat::modulesDict(PyInterpreterState_Get());
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (modules && PyDict_Next(modules, &pos, &key, &value)) {
        if (value == obj && utf8Of(key) == name) return true;
    }
    return false;
}

}  // namespace

HeapSnapshot::HeapSnapshot(graph::SnapshotData data, std::vector<TypeMeta> types, bool live)
    : m_data(std::move(data)), m_types(std::move(types)), m_live(live) {
    m_types.resize(m_data.typeNames.size());
}

const graph::DominatorTree& HeapSnapshot::dominators() {
    std::lock_guard lock(m_analysisLock);
    if (!m_dominators) m_dominators = std::make_unique<graph::DominatorTree>(graph());
    return *m_dominators;
}

const graph::ShortestPaths& HeapSnapshot::paths() {
    std::lock_guard lock(m_analysisLock);
    if (!m_paths) m_paths = std::make_unique<graph::ShortestPaths>(graph());
    return *m_paths;
}

std::uintptr_t HeapSnapshot::objectAddress(NodeId node) const {
    return graph().address(node) + m_types[graph().type(node).value].preheader;
}

std::optional<NodeId> HeapSnapshot::nodeOfObject(PyObject* obj) const {
    if (!m_live) return std::nullopt;
    PyTypeObject* type = Py_TYPE(obj);
    std::uint64_t address = reinterpret_cast<std::uintptr_t>(obj) - compat::preheaderSize(type);
    const auto& addresses = graph().addressColumn();
    // One linear scan (a few ms for millions of objects) beats building an index per query.
    auto it = std::find(addresses.begin(), addresses.end(), address);
    if (it == addresses.end()) return std::nullopt;
    NodeId node(static_cast<std::uint32_t>(it - addresses.begin()));
    if (m_types[graph().type(node).value].address != reinterpret_cast<std::uintptr_t>(type))
        return std::nullopt;
    return node;
}

std::optional<NodeId> HeapSnapshot::nodeOfAllocation(std::uint64_t address) {
    const auto& addresses = graph().addressColumn();
    if (m_byAddress.empty() && !addresses.empty()) {
        m_byAddress.resize(addresses.size());
        for (std::uint32_t i = 0; i < m_byAddress.size(); ++i) m_byAddress[i] = i;
        std::sort(m_byAddress.begin(), m_byAddress.end(),
                  [&](std::uint32_t a, std::uint32_t b) { return addresses[a] < addresses[b]; });
    }
    auto it = std::lower_bound(m_byAddress.begin(), m_byAddress.end(), address,
                               [&](std::uint32_t node, std::uint64_t a) { return addresses[node] < a; });
    if (it != m_byAddress.end() && addresses[*it] == address) return NodeId(*it);
    return nodeOwningStorage(address);
}

namespace {

struct StorageSearch {
    std::uint64_t address;
    PyObject* owner;
};

// A referent of a live container is live too: an untracked one (a dict of atomic values, which
// the collector does not list) is found this way.
int visitUntrackedOwner(PyObject* child, void* arg) {
    auto* search = static_cast<StorageSearch*>(arg);
    // elementStorage first: only containers (all GC types) have a GC header to read.
    if (search->owner == nullptr && compat::elementStorage(child) == search->address && !compat::isTracked(child)) {
        search->owner = child;
    }
    return 0;
}

}  // namespace

std::optional<NodeId> HeapSnapshot::nodeOwningStorage(std::uint64_t address) const {
    // Only live containers are read: the GC lists hold no freed object. One pass, on a miss only.
    if (!m_live || address == 0) return std::nullopt;
    StorageSearch search{address, nullptr};
    compat::forEachTracked(PyInterpreterState_Get(), [&](PyObject* obj) {
        if (search.owner != nullptr) return;
        if (compat::elementStorage(obj) == address) {
            search.owner = obj;
        } else if (traverseproc traverse = Py_TYPE(obj)->tp_traverse) {
            traverse(obj, visitUntrackedOwner, &search);
        }
    });
    return search.owner != nullptr ? nodeOfObject(search.owner) : std::nullopt;
}

bool HeapSnapshot::isTracked(PyObject* obj) const {
    if (m_trackedDuringSave) return m_trackedDuringSave->count(obj) != 0;
    bool found = false;
    compat::forEachTracked(PyInterpreterState_Get(), [&](PyObject* o) { found = found || o == obj; });
    return found;
}

// A root's object, when it is found again where the walk found it.
PyObject* HeapSnapshot::provenRoot(std::uint32_t rootIndex) {
    const graph::Root& root = graph().roots()[rootIndex];
    PyObject* obj = asObject(objectAddress(root.node));
    bool proven = false;
    switch (root.kind) {
        case graph::RootKind::Module:
        case graph::RootKind::Builtins:
            proven = isModuleNamed(obj, m_data.rootLabels[root.label]);
            break;
        case graph::RootKind::Frame:
            proven = isFrameLocalOrThreadDict(obj);
            break;
        case graph::RootKind::External:
            proven = isTracked(obj);
            break;
    }
    if (!proven ||
        reinterpret_cast<std::uintptr_t>(Py_TYPE(obj)) != m_types[graph().type(root.node).value].address) {
        return nullptr;
    }
    return obj;
}

// Labels the steps between nodes[0] (whose proven object is `first`, or nullptr) and the last
// node. Each next object is only touched after `labelEdge` found it referenced by a proven one.
// Returns the last node's object when the whole chain is proven, else nullptr.
PyObject* HeapSnapshot::labelSteps(PyObject* first, PyObject* before, const std::vector<NodeId>& nodes,
                                   std::vector<PathStep>& steps) {
    PyObject* from = first;
    for (std::size_t i = 1; i < nodes.size(); ++i) {
        PyObject* to = asObject(objectAddress(nodes[i]));
        EdgeLabel label{EdgeKind::Other, "?", ""};
        bool proven =
            from && labelEdge(before, from, to, label) &&
            reinterpret_cast<std::uintptr_t>(Py_TYPE(to)) == m_types[graph().type(nodes[i]).value].address;
        if (!proven) label = {EdgeKind::Other, "?", ""};
        steps.push_back({label.kind, label.text, label.owner, nodes[i]});
        before = proven ? from : nullptr;
        from = proven ? to : nullptr;
    }
    return from;
}

void HeapSnapshot::storedSteps(const std::vector<NodeId>& nodes, std::vector<PathStep>& steps) const {
    for (std::size_t i = 1; i < nodes.size(); ++i) {
        PathStep step{EdgeKind::Other, "?", "", nodes[i]};
        if (!m_data.pathLabels.empty()) {
            const graph::PathLabel& stored = m_data.pathLabels[nodes[i].value];
            step.kind = static_cast<EdgeKind>(stored.kind);
            step.text = m_data.strings[stored.label];
            step.owner = m_data.strings[stored.owner];
        }
        steps.push_back(std::move(step));
    }
}

std::optional<LabelledPath> HeapSnapshot::pathTo(NodeId node) {
    std::optional<graph::Path> path = paths().pathTo(node);
    if (!path) return std::nullopt;
    LabelledPath result{path->root, path->nodes.front(), {}};
    if (m_live) {
        labelSteps(provenRoot(path->root), nullptr, path->nodes, result.steps);
    } else {
        storedSteps(path->nodes, result.steps);
    }
    return result;
}

LabelledPath HeapSnapshot::pathVia(NodeId from, NodeId to) {
    std::optional<graph::Path> path = paths().pathTo(from);
    std::vector<NodeId> nodes = path ? path->nodes : std::vector<NodeId>{from};
    nodes.push_back(to);
    LabelledPath result{path ? path->root : LabelledPath::kNoRoot, nodes.front(), {}};
    if (!m_live) {
        // Saved labels name each node's shortest-path parent step only: the last is unknown.
        storedSteps(std::vector<NodeId>(nodes.begin(), nodes.end() - 1), result.steps);
        result.steps.push_back({EdgeKind::Other, "?", "", to});
        return result;
    }
    labelSteps(path ? provenRoot(path->root) : liveObject(from), nullptr, nodes, result.steps);
    return result;
}

PyObject* HeapSnapshot::liveObject(NodeId node) {
    if (!m_live) return nullptr;
    PyObject* obj = asObject(objectAddress(node));
    if (!paths().reached(node)) {
        bool proven = isTracked(obj) && reinterpret_cast<std::uintptr_t>(Py_TYPE(obj)) ==
                                            m_types[graph().type(node).value].address;
        return proven ? obj : nullptr;
    }
    std::optional<graph::Path> path = paths().pathTo(node);
    PyObject* root = provenRoot(path->root);
    if (path->nodes.size() == 1) return root;
    std::vector<PathStep> steps;
    return labelSteps(root, nullptr, path->nodes, steps);
}

std::optional<std::vector<PathStep>> HeapSnapshot::cycleOf(NodeId node) {
    // Breadth-first from node's successors until an edge leads back to node.
    std::unordered_map<std::uint32_t, std::uint32_t> parent;
    std::deque<std::uint32_t> queue{node.value};
    std::optional<std::uint32_t> last;
    while (!queue.empty() && !last) {
        std::uint32_t v = queue.front();
        queue.pop_front();
        for (std::uint32_t w : graph().successors(NodeId(v))) {
            if (w == node.value) {
                last = v;
                break;
            }
            if (parent.try_emplace(w, v).second) queue.push_back(w);
        }
    }
    if (!last) return std::nullopt;
    std::vector<NodeId> nodes{node};
    for (std::uint32_t v = *last; v != node.value; v = parent.at(v)) nodes.push_back(NodeId(v));
    std::reverse(nodes.begin() + 1, nodes.end());
    nodes.push_back(node);
    std::vector<PathStep> steps;
    if (m_live) {
        labelSteps(liveObject(node), nullptr, nodes, steps);
    } else {
        for (std::size_t i = 1; i < nodes.size(); ++i) steps.push_back({EdgeKind::Other, "?", "", nodes[i]});
    }
    return steps;
}

void HeapSnapshot::dropCallerRoots(NodeId node, const std::string& threadPrefix) {
    std::lock_guard lock(m_analysisLock);
    m_data.graph.eraseRoots([&](const graph::Root& root) {
        if (root.node != node) return false;
        return root.kind == graph::RootKind::Frame && m_data.rootLabels[root.label].starts_with(threadPrefix);
    });
    m_dominators.reset();
    m_paths.reset();
}

void HeapSnapshot::setAllocations(
    const std::vector<std::tuple<std::uint64_t, std::uint64_t, std::uint32_t>>& allocations) {
    m_data.sequences.assign(graph().nodeCount(), 0);
    m_data.stacks.assign(graph().nodeCount(), 0);
    for (const auto& [address, seq, stack] : allocations) {
        std::optional<NodeId> node = nodeOfAllocation(address);
        if (!node) continue;
        m_data.sequences[node->value] = seq;
        m_data.stacks[node->value] = stack;
    }
}

std::uint32_t HeapSnapshot::intern(const std::string& text) {
    auto [it, added] = m_stringIndex.try_emplace(text, static_cast<std::uint32_t>(m_data.strings.size()));
    if (added) m_data.strings.push_back(text);
    return it->second;
}

// Labels the edge into every node on the shortest-path tree, top-down from the proven roots,
// labelling all children of one parent in one pass.
void HeapSnapshot::computePathLabels() {
    std::uint32_t n = graph().nodeCount();
    const graph::ShortestPaths& tree = paths();
    m_data.pathLabels.assign(n, {static_cast<std::uint8_t>(EdgeKind::Other), intern("?"), intern("")});
    // Children lists of the shortest-path tree in CSR form: child ids grouped by parent.
    std::vector<std::uint32_t> offsets(n + 1, 0), children;
    for (std::uint32_t v = 0; v < n; ++v) {
        if (std::optional<NodeId> p = tree.parent(NodeId(v))) ++offsets[p->value + 1];
    }
    for (std::uint32_t v = 0; v < n; ++v) offsets[v + 1] += offsets[v];
    children.resize(offsets[n]);
    std::vector<std::uint32_t> fill(offsets.begin(), offsets.end() - 1);
    for (std::uint32_t v = 0; v < n; ++v) {
        if (std::optional<NodeId> p = tree.parent(NodeId(v))) children[fill[p->value]++] = v;
    }
    fill.clear();
    fill.shrink_to_fit();
    std::vector<PyObject*> proven(n, nullptr);
    std::vector<std::uint32_t> queue;
    for (std::uint32_t r = 0; r < graph().roots().size(); ++r) {
        NodeId node = graph().roots()[r].node;
        std::optional<graph::Path> path = tree.pathTo(node);
        if (proven[node.value] || !path || path->root != r) continue;
        if ((proven[node.value] = provenRoot(r))) queue.push_back(node.value);
    }
    for (std::size_t head = 0; head < queue.size(); ++head) {
        std::uint32_t v = queue[head];
        if (offsets[v] == offsets[v + 1]) continue;
        std::optional<NodeId> up = tree.parent(NodeId(v));
        PyObject* before = up ? proven[up->value] : nullptr;
        std::unordered_map<PyObject*, std::uint32_t> wanted;
        for (std::uint32_t i = offsets[v]; i < offsets[v + 1]; ++i) {
            wanted.emplace(asObject(objectAddress(NodeId(children[i]))), children[i]);
        }
        auto emit = [&](PyObject* child, const EdgeLabel& label) {
            std::uint32_t c = wanted.at(child);
            if (proven[c] || reinterpret_cast<std::uintptr_t>(Py_TYPE(child)) !=
                                 m_types[graph().type(NodeId(c)).value].address)
                return;
            m_data.pathLabels[c] = {static_cast<std::uint8_t>(label.kind), intern(label.text),
                                    intern(label.owner)};
            proven[c] = child;
            queue.push_back(c);
        };
        auto wants = [&](PyObject* child) { return wanted.count(child) != 0; };
        if (labelEntries(before, proven[v], wants, emit)) continue;
        for (auto [child, c] : wanted) {
            EdgeLabel label;
            if (labelEdge(before, proven[v], child, label)) emit(child, label);
        }
    }
}

void HeapSnapshot::save(const std::string& path) {
    if (m_live) {
        // Many roots are proven during a save: one set of tracked objects instead of a scan each.
        std::unordered_set<PyObject*> tracked;
        compat::forEachTracked(PyInterpreterState_Get(), [&](PyObject* obj) { tracked.insert(obj); });
        m_trackedDuringSave = &tracked;
        computePathLabels();
        m_trackedDuringSave = nullptr;
    }
    graph::saveSnapshot(path, m_data);
}

}  // namespace memhound::heap
