#pragma once
// Open-addressing hash map from an object's address to its dense node id, used while walking the
// heap for the objects that cannot carry their id in a GC header (str, int, float, ...) and may be
// met more than once: roots, and objects more than one reference holds. Linear probing,
// power-of-two capacity, kept at most three quarters full; address 0 marks an empty slot. Key and
// id share one 16-byte slot, so a lookup costs one cache miss.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace memhound::heap {

class ObjectIndex {
public:
    static constexpr std::uint32_t kMissing = 0xffffffffu;

    // `capacity`: slots to start with (rounded up to a power of two); the table doubles when it is
    // three quarters full.
    explicit ObjectIndex(std::size_t capacity = 1024) {
        rehash(std::bit_ceil(std::max<std::size_t>(capacity, 1024)));
    }

    // The id of `address`, inserting `nextId` when absent; `inserted` tells which happened.
    std::uint32_t findOrInsert(std::uintptr_t address, std::uint32_t nextId, bool& inserted) {
        std::size_t slot = slotOf(address);
        while (m_slots[slot].key != 0) {
            if (m_slots[slot].key == address) {
                inserted = false;
                return m_slots[slot].id;
            }
            slot = (slot + 1) & m_mask;
        }
        inserted = true;
        m_slots[slot] = {address, nextId};
        if (++m_size * 4 > m_slots.size() * 3) rehash(m_slots.size() * 2);
        return nextId;
    }

    std::uint32_t find(std::uintptr_t address) const {
        for (std::size_t slot = slotOf(address); m_slots[slot].key != 0; slot = (slot + 1) & m_mask) {
            if (m_slots[slot].key == address) return m_slots[slot].id;
        }
        return kMissing;
    }

    // Starts loading the slot of `address` into the cache ahead of a lookup.
    void prefetch(std::uintptr_t address) const { __builtin_prefetch(&m_slots[slotOf(address)]); }

    std::size_t size() const { return m_size; }

private:
    std::size_t slotOf(std::uintptr_t address) const {
        // Objects are 16-byte aligned: drop those bits, then spread with a Fibonacci multiply.
        return static_cast<std::size_t>(((address >> 4) * 0x9E3779B97F4A7C15ull) >> m_shift);
    }

    void rehash(std::size_t capacity) {
        std::vector<Slot> old = std::move(m_slots);
        m_slots.assign(capacity, Slot{});
        m_mask = capacity - 1;
        m_shift = 64 - static_cast<unsigned>(__builtin_ctzll(capacity));
        for (const Slot& entry : old) {
            if (entry.key == 0) continue;
            std::size_t slot = slotOf(entry.key);
            while (m_slots[slot].key != 0) slot = (slot + 1) & m_mask;
            m_slots[slot] = entry;
        }
    }

    struct Slot {
        std::uintptr_t key = 0;
        std::uint32_t id = 0;
    };

    std::vector<Slot> m_slots;
    std::size_t m_size = 0;
    std::size_t m_mask = 0;
    unsigned m_shift = 0;
};

}  // namespace memhound::heap
