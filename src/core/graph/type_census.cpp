#include "core/graph/type_census.h"

#include <algorithm>
#include <unordered_map>

namespace memhound::graph {

namespace {

bool largerFirst(const TypeTally& a, const TypeTally& b) {
    if (a.bytes != b.bytes) return a.bytes > b.bytes;
    if (a.count != b.count) return a.count > b.count;
    return a.type < b.type;
}

std::unordered_map<std::string, const TypeTally*> byName(const std::vector<TypeTally>& rows) {
    std::unordered_map<std::string, const TypeTally*> index;
    for (const TypeTally& row : rows) index.emplace(row.type, &row);
    return index;
}

}  // namespace

TypeCensus::TypeCensus(std::vector<TypeTally> rows) {
    std::unordered_map<std::string, std::size_t> slot;
    for (TypeTally& row : rows) {
        auto [it, added] = slot.try_emplace(row.type, m_rows.size());
        if (added) {
            m_rows.push_back(std::move(row));
        } else {
            m_rows[it->second].count += row.count;
            m_rows[it->second].bytes += row.bytes;
        }
    }
    std::sort(m_rows.begin(), m_rows.end(), largerFirst);
}

std::int64_t TypeCensus::totalCount() const {
    std::int64_t total = 0;
    for (const TypeTally& row : m_rows) total += row.count;
    return total;
}

std::int64_t TypeCensus::totalBytes() const {
    std::int64_t total = 0;
    for (const TypeTally& row : m_rows) total += row.bytes;
    return total;
}

TypeCensus TypeCensus::minus(const TypeCensus& older) const {
    auto before = byName(older.m_rows);
    std::vector<TypeTally> changed;
    for (const TypeTally& row : m_rows) {
        auto it = before.find(row.type);
        TypeTally delta = row;
        if (it != before.end()) {
            delta.count -= it->second->count;
            delta.bytes -= it->second->bytes;
            before.erase(it);
        }
        if (delta.count != 0 || delta.bytes != 0) changed.push_back(std::move(delta));
    }
    for (const TypeTally& gone : older.m_rows) {
        if (before.count(gone.type)) changed.push_back({gone.type, -gone.count, -gone.bytes});
    }
    return TypeCensus(std::move(changed));
}

std::vector<TypeGrowth> TypeCensus::growthSince(const TypeCensus& older, std::size_t limit) const {
    auto before = byName(older.m_rows);
    std::vector<TypeGrowth> grown;
    for (const TypeTally& row : m_rows) {
        auto it = before.find(row.type);
        std::int64_t delta = row.count - (it == before.end() ? 0 : it->second->count);
        if (delta > 0) grown.push_back({row.type, row.count, delta});
    }
    std::sort(grown.begin(), grown.end(), [](const TypeGrowth& a, const TypeGrowth& b) {
        return a.delta != b.delta ? a.delta > b.delta : a.type < b.type;
    });
    if (grown.size() > limit) grown.resize(limit);
    return grown;
}

}  // namespace memhound::graph
