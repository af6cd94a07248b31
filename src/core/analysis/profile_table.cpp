#include "core/analysis/profile_table.h"

#include <algorithm>
#include <unordered_map>

namespace memhound::analysis {
namespace {

// Distinct frames by (canonical code, line): one code recorded under several ids is one frame.
class FrameIndex {
public:
    explicit FrameIndex(const Symbols& symbols) : m_symbols(symbols) {}

    std::uint32_t indexOf(const Location& location) {
        std::uint64_t key = location.known ? (std::uint64_t{location.code.value} << 32 |
                                              static_cast<std::uint32_t>(location.line))
                                           : ~std::uint64_t{0};
        auto [it, inserted] = m_indices.try_emplace(key, static_cast<std::uint32_t>(m_frames.size()));
        if (inserted) {
            Frame frame = m_symbols.frameAt(location);
            m_frames.push_back({std::move(frame.function), std::move(frame.file), frame.line,
                                m_symbols.functionLine(location)});
        }
        return it->second;
    }
    std::vector<ProfileFrame> take() { return std::move(m_frames); }

private:
    const Symbols& m_symbols;
    std::unordered_map<std::uint64_t, std::uint32_t> m_indices;
    std::vector<ProfileFrame> m_frames;
};

std::string stackKey(common::Allocator allocator, const std::vector<std::uint32_t>& frames) {
    std::string key(1, static_cast<char>(allocator));
    key.append(reinterpret_cast<const char*>(frames.data()), frames.size() * sizeof frames[0]);
    return key;
}

bool isEmpty(const ProfileStack& stack) {
    return std::all_of(stack.amounts.begin(), stack.amounts.end(),
                       [](const Amount& amount) { return amount.bytes == 0 && amount.count == 0; });
}

}  // namespace

ProfileTable profileTable(std::span<const StackTotals* const> totals, const Symbols& symbols) {
    FrameIndex frameIndex(symbols);
    std::unordered_map<std::uint64_t, std::size_t> indexOfSite;  // site key -> index in `stacks`
    std::unordered_map<std::string, std::size_t> stackOfFrames;
    std::vector<ProfileStack> stacks;
    auto stackFor = [&](std::uint64_t site) -> ProfileStack& {
        if (auto known = indexOfSite.find(site); known != indexOfSite.end()) return stacks[known->second];
        ProfileStack stack;
        stack.allocator = allocatorOfSite(site);
        for (const Location& location : symbols.locations(stackOfSite(site)))
            stack.frames.push_back(frameIndex.indexOf(location));
        auto [it, inserted] = stackOfFrames.try_emplace(stackKey(stack.allocator, stack.frames), stacks.size());
        if (inserted) {
            stack.amounts.resize(totals.size());
            stacks.push_back(std::move(stack));
        }
        indexOfSite.emplace(site, it->second);
        return stacks[it->second];
    };
    for (std::size_t which = 0; which < totals.size(); ++which) {
        totals[which]->forEach([&](std::uint64_t site, const Amount& amount) {
            Amount& into = stackFor(site).amounts[which];
            into.bytes += amount.bytes;
            into.count += amount.count;
        });
    }
    std::erase_if(stacks, isEmpty);
    // Largest first; equal amounts in a stable order that does not depend on hashing.
    std::sort(stacks.begin(), stacks.end(), [](const ProfileStack& a, const ProfileStack& b) {
        double left = a.amounts.empty() ? 0 : a.amounts[0].bytes, right = b.amounts.empty() ? 0 : b.amounts[0].bytes;
        if (left != right) return left > right;
        if (a.frames != b.frames) return a.frames < b.frames;
        return a.allocator < b.allocator;
    });
    return {frameIndex.take(), std::move(stacks)};
}

}  // namespace memhound::analysis
