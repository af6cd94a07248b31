#pragma once
// An open-addressing hash map from 64-bit keys to values, with linear probing (erase shifts the
// following entries back, no tombstones): the lookups the batch codec and the analysis do per
// event, without std::unordered_map's node allocations. The key kEmptyKey cannot be stored.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/common/hash.h"

namespace memhound::format {

template <typename Value>
class FlatMap {
public:
    static constexpr std::uint64_t kEmptyKey = ~std::uint64_t{0};

    explicit FlatMap(std::size_t expected = 16) { rehash(capacityFor(expected)); }

    // The value of key, inserted as Value{} when absent. Returns nullptr for kEmptyKey.
    Value* findOrInsert(std::uint64_t key) {
        if (key == kEmptyKey) return nullptr;
        if ((m_size + 1) * 4 > m_slots.size() * 3) rehash(m_slots.size() * 2);
        std::size_t at = slotOf(key);
        if (m_slots[at].first == kEmptyKey) {
            m_slots[at] = {key, Value{}};
            ++m_size;
        }
        return &m_slots[at].second;
    }

    Value* find(std::uint64_t key) {
        return const_cast<Value*>(static_cast<const FlatMap&>(*this).find(key));
    }
    const Value* find(std::uint64_t key) const {
        if (key == kEmptyKey) return nullptr;
        std::size_t at = slotOf(key);
        return m_slots[at].first == key ? &m_slots[at].second : nullptr;
    }

    // Removes key; returns whether it was there.
    bool erase(std::uint64_t key) {
        if (key == kEmptyKey) return false;
        std::size_t hole = slotOf(key);
        if (m_slots[hole].first != key) return false;
        eraseAt(hole);
        return true;
    }

    // Moves key's value to `out` and removes it, in one lookup; returns whether it was there.
    bool take(std::uint64_t key, Value& out) {
        if (key == kEmptyKey) return false;
        std::size_t at = slotOf(key);
        if (m_slots[at].first != key) return false;
        out = std::move(m_slots[at].second);
        eraseAt(at);
        return true;
    }

    void clear() {
        for (auto& slot : m_slots) slot.first = kEmptyKey;
        m_size = 0;
    }

    std::size_t size() const { return m_size; }

    // Makes room for `expected` keys in all, so that filling a map of known size rehashes once.
    void reserve(std::size_t expected) {
        if (capacityFor(expected) > m_slots.size()) rehash(capacityFor(expected));
    }

    template <typename Visit>
    void forEach(Visit&& visit) const {
        for (const auto& slot : m_slots)
            if (slot.first != kEmptyKey) visit(slot.first, slot.second);
    }

    // Asks the CPU to fetch key's home slot: a replay looks a few events ahead, so that the
    // lookups of a large map overlap their cache misses instead of waiting for each in turn.
    void prefetch(std::uint64_t key) const { __builtin_prefetch(m_slots.data() + homeOf(key)); }

private:
    // Empties the slot `hole`, moving later entries of its probe run back (no tombstones).
    void eraseAt(std::size_t hole) {
        std::size_t mask = m_slots.size() - 1;
        for (std::size_t next = (hole + 1) & mask; m_slots[next].first != kEmptyKey;
             next = (next + 1) & mask) {
            std::size_t home = homeOf(m_slots[next].first);
            // Move the entry back into the hole unless its home lies cyclically in (hole, next].
            bool homeAfterHole = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
            if (!homeAfterHole) {
                m_slots[hole] = std::move(m_slots[next]);
                hole = next;
            }
        }
        m_slots[hole].first = kEmptyKey;
        --m_size;
    }

    static std::size_t capacityFor(std::size_t expected) {
        std::size_t capacity = 16;
        while (capacity * 3 < expected * 4 + 4) capacity *= 2;
        return capacity;
    }

    std::size_t homeOf(std::uint64_t key) const {
        return static_cast<std::size_t>(common::mix64(key)) & (m_slots.size() - 1);
    }

    // The slot holding key, or the empty slot where it would go.
    std::size_t slotOf(std::uint64_t key) const {
        std::size_t mask = m_slots.size() - 1;
        std::size_t at = homeOf(key);
        while (m_slots[at].first != kEmptyKey && m_slots[at].first != key) at = (at + 1) & mask;
        return at;
    }

    void rehash(std::size_t capacity) {
        std::vector<std::pair<std::uint64_t, Value>> old(capacity, {kEmptyKey, Value{}});
        old.swap(m_slots);
        for (auto& slot : old)
            if (slot.first != kEmptyKey) m_slots[slotOf(slot.first)] = std::move(slot);
    }

    std::vector<std::pair<std::uint64_t, Value>> m_slots;
    std::size_t m_size = 0;
};

}  // namespace memhound::format
