#pragma once
// Address -> size of the blocks allocated while a line meter is on (line_meter.h): a free carries
// no size, so the meter looks it up here. Open addressing with linear probing; deletion shifts the
// following entries back, so no tombstones build up in a long loop of allocations and frees.
// Interpreter-free; the caller locks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/common/hash.h"

namespace memhound::record {

class BlockSizes {
public:
    BlockSizes() { m_slots.resize(kInitialSlots); }

    void insert(std::uint64_t address, std::uint64_t size) {
        if ((m_used + 1) * 2 > m_slots.size()) grow();
        std::size_t i = slotOf(address);
        for (; m_slots[i].address != 0; i = (i + 1) & mask())
            if (m_slots[i].address == address) {  // a block we missed the free of (realloc in place)
                m_slots[i].size = size;
                return;
            }
        m_slots[i] = Slot{address, size};
        ++m_used;
    }

    // The block's size, forgotten; 0 when it was not allocated while metering.
    std::uint64_t take(std::uint64_t address) {
        std::size_t i = slotOf(address);
        for (; m_slots[i].address != address; i = (i + 1) & mask())
            if (m_slots[i].address == 0) return 0;
        const std::uint64_t size = m_slots[i].size;
        shiftBack(i);
        --m_used;
        return size;
    }

    std::size_t size() const { return m_used; }

    // Empties the table; a large one gives its memory back.
    void clear() {
        if (m_slots.size() > kKeptSlots) {
            std::vector<Slot>(kInitialSlots).swap(m_slots);
        } else {
            std::fill(m_slots.begin(), m_slots.end(), Slot{});
        }
        m_used = 0;
    }

private:
    struct Slot {
        std::uint64_t address = 0;
        std::uint64_t size = 0;
    };
    static constexpr std::size_t kInitialSlots = 4096;
    static constexpr std::size_t kKeptSlots = 1 << 16;

    std::size_t mask() const { return m_slots.size() - 1; }
    std::size_t slotOf(std::uint64_t address) const { return common::mix64(address) & mask(); }

    // Fills the hole at i with a later entry of its probe run that may move there, repeatedly.
    void shiftBack(std::size_t hole) {
        for (std::size_t i = (hole + 1) & mask(); m_slots[i].address != 0; i = (i + 1) & mask()) {
            const std::size_t home = slotOf(m_slots[i].address);
            // The entry may move to the hole when its home is not inside (hole, i].
            const bool movable = hole <= i ? (home <= hole || home > i) : (home <= hole && home > i);
            if (!movable) continue;
            m_slots[hole] = m_slots[i];
            hole = i;
        }
        m_slots[hole] = Slot{};
    }

    void grow() {
        std::vector<Slot> old(m_slots.size() * 2);
        old.swap(m_slots);
        for (const Slot& slot : old) {
            if (slot.address == 0) continue;
            std::size_t i = slotOf(slot.address);
            while (m_slots[i].address != 0) i = (i + 1) & mask();
            m_slots[i] = slot;
        }
    }

    std::vector<Slot> m_slots;
    std::size_t m_used = 0;
};

}  // namespace memhound::record
