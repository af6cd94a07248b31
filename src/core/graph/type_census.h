#pragma once
// Counts and bytes per type name over a whole heap (memhound.summary), and what changed between
// two of them (SummaryTracker.diff, show_growth). Plain data over type names: the census walk
// fills one, the Python package reads it; keeping it in C++ lets a tracker hold its baseline
// without Python objects of its own that the next census would count.
#include <cstdint>
#include <string>
#include <vector>

namespace memhound::graph {

// One type's figures; in a diff, `count` and `bytes` are the changes (signed).
struct TypeTally {
    std::string type;
    std::int64_t count = 0;
    std::int64_t bytes = 0;
};

// A type whose instance count grew: its count now and by how much it grew.
struct TypeGrowth {
    std::string type;
    std::int64_t count = 0;
    std::int64_t delta = 0;
};

class TypeCensus {
public:
    TypeCensus() = default;
    // Rows of the same name are merged (two classes of one qualified name are one row), then
    // sorted by bytes (largest first), then count, then name.
    explicit TypeCensus(std::vector<TypeTally> rows);

    const std::vector<TypeTally>& rows() const { return m_rows; }
    std::int64_t totalCount() const;
    std::int64_t totalBytes() const;

    // Per type, this census minus `older`: only the types whose count or bytes changed, largest
    // byte growth first, shrinking types last.
    TypeCensus minus(const TypeCensus& older) const;
    // The types with more instances than in `older`, largest growth first (then name); at most
    // `limit` rows.
    std::vector<TypeGrowth> growthSince(const TypeCensus& older, std::size_t limit) const;

private:
    std::vector<TypeTally> m_rows;
};

}  // namespace memhound::graph
