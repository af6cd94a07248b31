#include "core/graph/diff.h"

#include <algorithm>
#include <unordered_map>

#include "core/common/error.h"

namespace memhound::graph {

namespace {

// (identity key, shared type index, node): sorted, so equal identities of both sides line up.
struct Entry {
    std::uint64_t key;
    std::uint32_t type;
    std::uint32_t node;
    auto identity() const { return std::pair(key, type); }
};

// Gives every type name of both sides one shared index, so identities compare across graphs.
class TypeNameTable {
public:
    std::vector<std::uint32_t> indicesOf(const DiffSide& side) {
        std::vector<std::uint32_t> indices;
        for (const std::string& name : side.typeNames) {
            auto [it, added] = m_index.try_emplace(name, static_cast<std::uint32_t>(m_names.size()));
            if (added) m_names.push_back(name);
            indices.push_back(it->second);
        }
        return indices;
    }
    const std::string& name(std::uint32_t index) const { return m_names[index]; }
    std::size_t size() const { return m_names.size(); }

private:
    std::unordered_map<std::string, std::uint32_t> m_index;
    std::vector<std::string> m_names;
};

void checkSide(const DiffSide& side) {
    if (side.keys.size() != side.graph.nodeCount())
        throw common::Error("snapshot diff: one key per object needed");
    for (std::uint32_t t : side.graph.typeColumn()) {
        if (t >= side.typeNames.size()) throw common::Error("snapshot diff: type without a name");
    }
}

std::vector<Entry> sortedEntries(const DiffSide& side, const std::vector<std::uint32_t>& typeIndex) {
    std::vector<Entry> entries(side.graph.nodeCount());
    for (std::uint32_t v = 0; v < side.graph.nodeCount(); ++v) {
        entries[v] = {side.keys[v], typeIndex[side.graph.type(NodeId(v)).value], v};
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.identity() != b.identity() ? a.identity() < b.identity() : a.node < b.node;
    });
    return entries;
}

void count(DiffRow& row, bool isNew, std::uint64_t bytes) {
    (isNew ? row.newCount : row.goneCount) += 1;
    (isNew ? row.newBytes : row.goneBytes) += bytes;
}

}  // namespace

SnapshotDiff diffSnapshots(const DiffSide& older, const DiffSide& newer) {
    checkSide(older);
    checkSide(newer);
    TypeNameTable names;
    std::vector<std::uint32_t> olderTypes = names.indicesOf(older), newerTypes = names.indicesOf(newer);
    std::vector<DiffRow> rows(names.size());
    SnapshotDiff result;
    std::vector<Entry> before = sortedEntries(older, olderTypes), after = sortedEntries(newer, newerTypes);
    auto gone = [&](const Entry& e) { count(rows[e.type], false, older.graph.shallowSize(NodeId(e.node))); };
    auto added = [&](const Entry& e) {
        count(rows[e.type], true, newer.graph.shallowSize(NodeId(e.node)));
        result.newNodes.push_back(NodeId(e.node));
    };
    // Merge walk: equal identities pair up one to one; the rest are gone (older) or new (newer).
    std::size_t i = 0, j = 0;
    while (i < before.size() || j < after.size()) {
        if (j == after.size() || (i < before.size() && before[i].identity() < after[j].identity())) {
            gone(before[i++]);
        } else if (i == before.size() || after[j].identity() < before[i].identity()) {
            added(after[j++]);
        } else {
            ++i, ++j;
        }
    }
    std::sort(result.newNodes.begin(), result.newNodes.end());
    for (std::uint32_t t = 0; t < rows.size(); ++t) {
        if (rows[t].newCount == 0 && rows[t].goneCount == 0) continue;
        rows[t].typeName = names.name(t);
        result.rows.push_back(std::move(rows[t]));
    }
    std::stable_sort(result.rows.begin(), result.rows.end(), [](const DiffRow& a, const DiffRow& b) {
        return a.newBytes != b.newBytes ? a.newBytes > b.newBytes : a.goneBytes > b.goneBytes;
    });
    return result;
}

}  // namespace memhound::graph
