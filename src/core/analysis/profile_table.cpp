#include "core/analysis/profile_table.h"

#include <algorithm>
#include <unordered_map>

#include "core/common/hash.h"

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

// Largest first; equal amounts in a stable order that does not depend on hashing.
void sortLargestFirst(std::vector<ProfileStack>& stacks) {
    std::sort(stacks.begin(), stacks.end(), [](const ProfileStack& a, const ProfileStack& b) {
        double left = a.amounts.empty() ? 0 : a.amounts[0].bytes, right = b.amounts.empty() ? 0 : b.amounts[0].bytes;
        if (left != right) return left > right;
        if (a.frames != b.frames) return a.frames < b.frames;
        return a.allocator < b.allocator;
    });
}

std::uint64_t hashOf(const ProfileStack& stack) {
    std::uint64_t hash = common::mix64(static_cast<std::uint64_t>(stack.allocator) + 1);
    for (std::uint32_t frame : stack.frames) hash = common::hashCombine(hash, frame);
    return hash == format::FlatMap<std::uint32_t>::kEmptyKey ? 0 : hash;
}

// Adds each stack's amounts into the first stack with the same allocator and frames.
std::vector<ProfileStack> mergeEqual(std::vector<ProfileStack> stacks) {
    format::FlatMap<std::uint32_t> first(stacks.size());  // hash -> 1 + index of a kept stack
    std::vector<std::uint32_t> next;                       // by kept index: 1 + next kept with that hash
    std::vector<ProfileStack> kept;
    for (ProfileStack& stack : stacks) {
        std::uint32_t* head = first.findOrInsert(hashOf(stack));
        std::uint32_t at = *head;
        while (at != 0 && (kept[at - 1].allocator != stack.allocator || kept[at - 1].frames != stack.frames))
            at = next[at - 1];
        if (at == 0) {
            next.push_back(*head);
            kept.push_back(std::move(stack));
            *head = static_cast<std::uint32_t>(kept.size());
            continue;
        }
        for (std::size_t i = 0; i < stack.amounts.size(); ++i) {
            kept[at - 1].amounts[i].bytes += stack.amounts[i].bytes;
            kept[at - 1].amounts[i].count += stack.amounts[i].count;
        }
    }
    return kept;
}

bool isEmpty(const ProfileStack& stack) {
    return std::all_of(stack.amounts.begin(), stack.amounts.end(),
                       [](const Amount& amount) { return amount.bytes == 0 && amount.count == 0; });
}

}  // namespace

ProfileTable profileTable(std::span<const StackTotals* const> totals, const Symbols& symbols) {
    FrameIndex frameIndex(symbols);
    // (allocator, the Python stack's same-frames id) -> 1 + index in `stacks`: the C frames are
    // not exported, so stacks that differ only there are one.
    format::FlatMap<std::size_t> stackOfFrames(totals.empty() ? 16 : totals[0]->size());
    std::vector<ProfileStack> stacks;
    auto stackFor = [&](std::uint64_t site) -> ProfileStack& {
        common::StackId python = symbols.pythonStack(stackOfSite(site));
        std::size_t* index = stackOfFrames.findOrInsert(siteKey(symbols.sameFramesStack(python), allocatorOfSite(site)));
        if (*index == 0) {
            ProfileStack stack;
            stack.allocator = allocatorOfSite(site);
            for (const Location& location : symbols.locations(python)) stack.frames.push_back(frameIndex.indexOf(location));
            stack.amounts.resize(totals.size());
            stacks.push_back(std::move(stack));
            *index = stacks.size();
        }
        return stacks[*index - 1];
    };
    for (std::size_t which = 0; which < totals.size(); ++which) {
        totals[which]->forEach([&](std::uint64_t site, const Amount& amount) {
            Amount& into = stackFor(site).amounts[which];
            into.bytes += amount.bytes;
            into.count += amount.count;
        });
    }
    std::erase_if(stacks, isEmpty);
    sortLargestFirst(stacks);
    return {frameIndex.take(), std::move(stacks)};
}

std::size_t launcherEnd(std::span<const std::uint32_t> frames, std::span<const FrameRole> roles) {
    std::size_t end = 1;
    while (end < frames.size() && roles[frames[end]] != FrameRole::Launcher) ++end;
    if (end >= frames.size()) return frames.size();
    while (end > 1 && roles[frames[end - 1]] == FrameRole::Runpy) --end;
    return end;
}

ProfileTable withoutLauncherFrames(ProfileTable table, std::span<const FrameRole> roles, const PseudoFrames& pseudo) {
    std::vector<std::uint32_t> pseudoIndex(pseudo.byAllocator.size() + 1, ~std::uint32_t{0});
    auto pseudoFrame = [&](std::size_t slot, const std::string& name) {  // added when first needed
        if (pseudoIndex[slot] == ~std::uint32_t{0}) {
            pseudoIndex[slot] = static_cast<std::uint32_t>(table.frames.size());
            table.frames.push_back({name, "", 0, 0});
        }
        return pseudoIndex[slot];
    };
    for (ProfileStack& stack : table.stacks) {
        if (common::isPyMem(stack.allocator)) stack.allocator = common::Allocator::PyObject;  // one "pymem"
        stack.frames.resize(launcherEnd(stack.frames, roles));
        if (stack.frames.empty()) stack.frames.push_back(pseudoFrame(pseudo.byAllocator.size(), pseudo.noPythonFrame));
        auto slot = static_cast<std::size_t>(stack.allocator);
        if (!pseudo.byAllocator[slot].empty())
            stack.frames.insert(stack.frames.begin(), pseudoFrame(slot, pseudo.byAllocator[slot]));
    }
    table.stacks = mergeEqual(std::move(table.stacks));
    sortLargestFirst(table.stacks);
    return table;
}

}  // namespace memhound::analysis
