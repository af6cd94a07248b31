#pragma once
// A map from an object's address to what the class tracker knows about it: open addressing with
// linear probing and backward-shift deletion, so that an insert or an erase on the hot path
// touches one or two cache lines and never allocates (growth doubles the table, amortised).
// Interpreter-free; keys are non-zero addresses.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace memhound::objects {

template <typename Value>
class AddressTable {
public:
    AddressTable() { reset(kInitialBits); }

    std::size_t size() const { return m_count; }

    Value* find(std::uintptr_t key) {
        for (std::size_t i = home(key);; i = (i + 1) & m_mask) {
            Slot& slot = m_slots[i];
            if (slot.key == key) return &slot.value;
            if (slot.key == 0) return nullptr;
        }
    }

    // The value slot of key, added (value-initialised) when absent; *existed says which. The
    // pointer is valid until the next insertion or removal.
    Value* slotFor(std::uintptr_t key, bool* existed) {
        if ((m_count + 1) * 4 > m_slots.size() * 3) [[unlikely]]
            grow();
        for (std::size_t i = home(key);; i = (i + 1) & m_mask) {
            Slot& slot = m_slots[i];
            if (slot.key == key) {
                *existed = true;
                return &slot.value;
            }
            if (slot.key == 0) {
                slot.key = key;
                ++m_count;
                *existed = false;
                return &slot.value;
            }
        }
    }

    // Inserts key -> value; false when key was present (its value is replaced).
    bool insert(std::uintptr_t key, const Value& value) {
        bool existed = false;
        *slotFor(key, &existed) = value;
        return !existed;
    }

    // Calls fn(value) for key's entry, then removes it; false when key is absent.
    template <typename Fn>
    bool eraseWith(std::uintptr_t key, Fn&& fn) {
        std::size_t i = home(key);
        while (m_slots[i].key != key) {
            if (m_slots[i].key == 0) return false;
            i = (i + 1) & m_mask;
        }
        fn(static_cast<const Value&>(m_slots[i].value));
        removeAt(i);
        return true;
    }

    // Removes key, its value to *out; false when key is absent.
    bool erase(std::uintptr_t key, Value* out) {
        return eraseWith(key, [out](const Value& v) { *out = v; });
    }

    template <typename Fn>
    void forEach(Fn&& fn) {
        for (Slot& slot : m_slots) {
            if (slot.key != 0) fn(slot.key, slot.value);
        }
    }

    // Removes every entry for which drop(key, value) is true; returns how many.
    template <typename Pred>
    std::size_t eraseIf(Pred&& drop) {
        std::vector<Slot> kept;
        std::size_t dropped = 0;
        for (Slot& slot : m_slots) {
            if (slot.key == 0) continue;
            if (drop(slot.key, slot.value)) {
                ++dropped;
            } else {
                kept.push_back(slot);
            }
        }
        if (dropped == 0) return 0;
        reset(m_bits);
        for (const Slot& slot : kept) insert(slot.key, slot.value);
        return dropped;
    }

private:
    struct Slot {
        std::uintptr_t key = 0;
        Value value{};
    };
    static constexpr unsigned kInitialBits = 10;

    // Fibonacci hashing: the high bits of key * 2^64/phi spread aligned addresses evenly.
    std::size_t home(std::uintptr_t key) const {
        return static_cast<std::size_t>((static_cast<std::uint64_t>(key) * 0x9E3779B97F4A7C15ull) >> (64 - m_bits));
    }
    void reset(unsigned bits) {
        m_bits = bits;
        m_slots.assign(std::size_t{1} << bits, Slot{});
        m_mask = m_slots.size() - 1;
        m_count = 0;
    }
    // Backward shift: pull each following entry of the cluster into the hole when its home is
    // not between the hole and itself, so that no lookup stops early at the hole.
    void removeAt(std::size_t i) {
        for (std::size_t j = (i + 1) & m_mask; m_slots[j].key != 0; j = (j + 1) & m_mask) {
            std::size_t fromHome = (j - home(m_slots[j].key)) & m_mask;
            std::size_t fromHole = (j - i) & m_mask;
            if (fromHome >= fromHole) {
                m_slots[i] = m_slots[j];
                i = j;
            }
        }
        m_slots[i].key = 0;
        --m_count;
    }
    void grow() {
        std::vector<Slot> old;
        old.swap(m_slots);
        reset(m_bits + 1);
        for (const Slot& slot : old) {
            if (slot.key != 0) insert(slot.key, slot.value);
        }
    }

    std::vector<Slot> m_slots;
    std::size_t m_mask = 0;
    unsigned m_bits = 0;
    std::size_t m_count = 0;
};

}  // namespace memhound::objects
