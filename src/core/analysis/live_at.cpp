#include "core/analysis/live_at.h"

#include <algorithm>
#include <stdexcept>

namespace memhound::analysis {

LiveAtPass::LiveAtPass(const Weigher& weigher, std::span<const std::uint64_t> checkpoints)
    : m_weigher(weigher), m_checkpoints(checkpoints.begin(), checkpoints.end()), m_live(weigher) {
    if (!std::is_sorted(m_checkpoints.begin(), m_checkpoints.end()))
        throw std::invalid_argument("checkpoints must be in ascending order");
}

void LiveAtPass::consume(std::span<const format::Event> run) {
    for (const format::Event& event : run) apply(event);
}

void LiveAtPass::apply(const format::Event& event) {
    takeSnapshotsBefore(event.seq);
    if (m_snapshots.size() == m_checkpoints.size()) return;  // after the last checkpoint
    const LiveAllocation* ended = m_live.apply(event);
    if (ended != nullptr) add(siteKey(ended->stack, ended->allocator), ended->size, -1);
    if (event.kind == format::EventKind::Alloc && event.address != format::FlatMap<LiveAllocation>::kEmptyKey)
        add(siteKey(event.stack, event.allocator), event.size, +1);
}

void LiveAtPass::add(std::uint64_t site, std::uint64_t size, int sign) {
    Live* live = m_bySite.findOrInsert(site);
    live->amount.bytes += sign * m_weigher.bytes(size);
    live->amount.count += sign * m_weigher.count(size);
    live->count += sign;
    if (live->count == 0) m_bySite.erase(site);  // keeps each snapshot to the sites live then
}

void LiveAtPass::takeSnapshotsBefore(std::uint64_t seq) {
    while (m_snapshots.size() < m_checkpoints.size() && seq >= m_checkpoints[m_snapshots.size()]) {
        StackTotals& snapshot = m_snapshots.emplace_back(m_bySite.size());
        m_bySite.forEach([&](std::uint64_t site, const Live& live) { *snapshot.findOrInsert(site) = live.amount; });
    }
}

std::vector<StackTotals> LiveAtPass::finish() {
    takeSnapshotsBefore(~std::uint64_t{0});
    return std::move(m_snapshots);
}

}  // namespace memhound::analysis
