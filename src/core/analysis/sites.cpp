#include "core/analysis/sites.h"

#include <algorithm>
#include <string>
#include <unordered_map>

namespace memhound::analysis {
namespace {

// Appends the bytes that identify a stack's group: equal keys, one row.
void appendKey(std::string& key, const Location& location, bool withLine) {
    std::uint32_t fields[3] = {location.code.value, static_cast<std::uint32_t>(withLine ? location.line : 0),
                               location.known ? 1u : 0u};
    key.append(reinterpret_cast<const char*>(fields), sizeof fields);
}

std::string groupKey(const Symbols& symbols, common::StackId stack, common::Allocator allocator, GroupBy by) {
    std::string key(1, static_cast<char>(allocator));
    if (by == GroupBy::Stack) {
        std::uint32_t sameFrames = symbols.sameFramesStack(stack).value;
        key.append(reinterpret_cast<const char*>(&sameFrames), sizeof sameFrames);
    } else {
        appendKey(key, symbols.innermost(stack), by == GroupBy::Line);
    }
    return key;
}

double measure(const Amount& amount, SortBy sort) {
    return sort == SortBy::Bytes ? amount.bytes : amount.count;
}

}  // namespace

SiteSummary groupSites(const StackTotals& totals, const Symbols& symbols, GroupBy by, SortBy sort,
                       std::size_t limit, bool withFrames) {
    std::vector<SiteRow> rows;
    std::vector<double> heaviest;  // per row: the measure of its representative stack
    std::unordered_map<std::string, std::size_t> rowOfKey;
    totals.forEach([&](std::uint64_t site, const Amount& amount) {
        const common::StackId stack = stackOfSite(site);
        const common::Allocator allocator = allocatorOfSite(site);
        auto [it, inserted] = rowOfKey.try_emplace(groupKey(symbols, stack, allocator, by), rows.size());
        if (inserted) {
            rows.push_back({{}, stack, {}, {}, allocator});
            heaviest.push_back(-1);
        }
        SiteRow& row = rows[it->second];
        row.amount.bytes += amount.bytes;
        row.amount.count += amount.count;
        // Ties go to the smaller id, so that the choice does not depend on hash order.
        double weight = measure(amount, sort);
        if (weight > heaviest[it->second] || (weight == heaviest[it->second] && stack < row.stack)) {
            heaviest[it->second] = weight;
            row.stack = stack;
        }
    });
    std::sort(rows.begin(), rows.end(), [sort](const SiteRow& a, const SiteRow& b) {
        if (measure(a.amount, sort) != measure(b.amount, sort))
            return measure(a.amount, sort) > measure(b.amount, sort);
        if (a.stack != b.stack) return a.stack < b.stack;
        return a.allocator < b.allocator;
    });
    SiteSummary summary;
    summary.siteCount = rows.size();
    for (const SiteRow& row : rows) {
        summary.total.bytes += row.amount.bytes;
        summary.total.count += row.amount.count;
    }
    if (limit != 0 && rows.size() > limit) rows.resize(limit);
    if (withFrames)
        for (SiteRow& row : rows) {
            row.frames = symbols.frames(row.stack);
            row.nativeFrames = symbols.nativeFrames(row.stack);
        }
    summary.rows = std::move(rows);
    return summary;
}

}  // namespace memhound::analysis
