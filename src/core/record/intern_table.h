#pragma once
// A small open-addressing hash table from a fixed-size key to a non-zero 32-bit id, used by the
// per-thread interning tables of the recorder. Linear probing, deletion by tombstone, grows when
// half the slots are taken (tombstones included).
// Interpreter-free; one owner thread, no locking.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/common/hash.h"

namespace memhound::record {

template <typename Key, typename KeyHash>
class InternTable {
public:
    InternTable() { m_slots.resize(kInitialSlots); }

    // The id stored for key, or 0 when absent.
    std::uint32_t find(const Key& key) const {
        for (std::size_t i = slotOf(key);; i = (i + 1) & mask()) {
            const Slot& slot = m_slots[i];
            if (slot.id == 0) return 0;
            if (slot.id != kErased && slot.key == key) return slot.id;
        }
    }

    // Stores id (non-zero) for a key known to be absent.
    void insert(const Key& key, std::uint32_t id) {
        if ((m_used + 1) * 2 > m_slots.size()) grow();
        place(key, id);
        ++m_used;
    }

    // Forgets key (if present); its slot stays taken until the table grows.
    void erase(const Key& key) {
        for (std::size_t i = slotOf(key);; i = (i + 1) & mask()) {
            Slot& slot = m_slots[i];
            if (slot.id == 0) return;
            if (slot.id != kErased && slot.key == key) {
                slot.id = kErased;
                return;
            }
        }
    }

    void clear() {
        m_slots.assign(kInitialSlots, Slot{});
        m_used = 0;
    }

private:
    struct Slot {
        Key key{};
        std::uint32_t id = 0;
    };
    static constexpr std::size_t kInitialSlots = 1024;
    static constexpr std::uint32_t kErased = 0xFFFFFFFFu;  // never an id: ids count up from 1

    std::size_t mask() const { return m_slots.size() - 1; }
    std::size_t slotOf(const Key& key) const { return KeyHash{}(key) & mask(); }

    void place(const Key& key, std::uint32_t id) {
        std::size_t i = slotOf(key);
        while (m_slots[i].id != 0) i = (i + 1) & mask();
        m_slots[i] = Slot{key, id};
    }

    void grow() {
        std::vector<Slot> old(m_slots.size() * 2);
        old.swap(m_slots);
        m_used = 0;
        for (const Slot& slot : old)
            if (slot.id != 0 && slot.id != kErased) {
                place(slot.key, slot.id);
                ++m_used;
            }
    }

    std::vector<Slot> m_slots;
    std::size_t m_used = 0;  // live keys and tombstones
};

// Key of a stack node: the node is the frame (code, instruction offset) called from parent.
struct NodeKey {
    std::uint32_t parent = 0;
    std::uint32_t code = 0;
    std::int32_t offset = 0;
    bool operator==(const NodeKey&) const = default;
};

struct NodeKeyHash {
    std::size_t operator()(const NodeKey& k) const {
        return common::mix64((std::uint64_t{k.parent} << 32 | k.code) ^
                             (static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.offset)) * 0x9e3779b97f4a7c15ULL));
    }
};

struct PointerHash {
    std::size_t operator()(std::uintptr_t p) const { return common::mix64(p); }
};

}  // namespace memhound::record
