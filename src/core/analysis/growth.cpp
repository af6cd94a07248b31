#include "core/analysis/growth.h"

#include "core/analysis/sites.h"

#include <algorithm>
#include <stdexcept>

namespace memhound::analysis {

GrowthPass::GrowthPass(const Symbols& symbols, std::span<const std::uint64_t> checkpoints)
    : m_symbols(symbols), m_checkpoints(checkpoints.begin(), checkpoints.end()) {
    if (!std::is_sorted(m_checkpoints.begin(), m_checkpoints.end()))
        throw std::invalid_argument("checkpoints must be in ascending order");
}

void GrowthPass::consume(std::span<const format::Event> run) {
    for (const format::Event& event : run) apply(event);
}

void GrowthPass::apply(const format::Event& event) {
    while (m_snapshots.size() < m_checkpoints.size() && event.seq >= m_checkpoints[m_snapshots.size()])
        m_snapshots.push_back(m_byStack);
    if (m_snapshots.size() == m_checkpoints.size()) return;  // after the last checkpoint
    const std::uint64_t first = m_checkpoints.front();
    const LiveAllocation* released = m_live.apply(event);
    if (released != nullptr && released->seq >= first) {
        Live* site = m_byStack.find(siteKey(m_symbols.canonicalStack(released->stack), released->allocator));
        --site->count;
        site->bytes -= released->size;
    }
    if (event.kind == format::EventKind::Alloc && event.seq >= first) {
        Live* site = m_byStack.findOrInsert(siteKey(m_symbols.canonicalStack(event.stack), event.allocator));
        ++site->count;
        site->bytes += event.size;
    }
}

std::vector<SiteGrowth> GrowthPass::finish() {
    if (m_checkpoints.empty()) return {};
    while (m_snapshots.size() < m_checkpoints.size()) m_snapshots.push_back(m_byStack);
    std::vector<SiteGrowth> growth;
    m_snapshots.back().forEach([&](std::uint64_t key, const Live& last) {
        if (last.count == 0) return;
        SiteGrowth& site = growth.emplace_back();
        site.stack = stackOfSite(key);
        site.allocator = allocatorOfSite(key);
        for (const LiveByStack& snapshot : m_snapshots) {
            const Live* at = snapshot.find(key);
            site.counts.push_back(at ? at->count : 0);
            site.bytes.push_back(at ? at->bytes : 0);
        }
    });
    std::sort(growth.begin(), growth.end(), [](const SiteGrowth& a, const SiteGrowth& b) {
        return a.stack != b.stack ? a.stack < b.stack : a.allocator < b.allocator;
    });
    return growth;
}

}  // namespace memhound::analysis
