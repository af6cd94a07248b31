#pragma once
// Node ids kept in the GC headers of the objects being walked, the way CPython's collector keeps
// its reference counts in _gc_prev during a collection: the walker reads a GC object's id next to
// the object's own header instead of looking its address up in a hash table. _gc_prev keeps its two
// flag bits; its top bit, never set in a user-space address, marks an id. restore() puts every
// header back (a tracked object's link to its list predecessor, an untracked object's bare flags).
// While ids are stored, nothing may track, untrack or free a GC object: no Python code may run.
#include <cstdint>
#include <vector>

#include "core/heap/heap_compat.h"

namespace memhound::heap {

class GcHeaderIds {
public:
    static constexpr std::uint32_t kNone = 0xffffffffu;

    GcHeaderIds() = default;
    ~GcHeaderIds() { restore(); }
    GcHeaderIds(const GcHeaderIds&) = delete;
    GcHeaderIds& operator=(const GcHeaderIds&) = delete;

    // Stores idFor(obj) in every tracked object, walking the lists in order (young, old, permanent).
    template <typename IdFor>
    void tagTracked(PyInterpreterState* interp, IdFor&& idFor) {
        compat::forEachGcList(interp, [&](PyGC_Head* head) {
            m_lists.push_back({head, m_tracked.size()});
            for (PyGC_Head* g = compat::nextInList(head); g != head; g = compat::nextInList(g)) {
                // Recorded before it is tagged: if idFor throws, restore() still relinks it.
                m_tracked.push_back(g);
                m_lists.back().end = m_tracked.size();
                g->_gc_prev = tagged(g->_gc_prev, idFor(compat::objectOf(g)));
            }
        });
    }

    // Stores `id` in an untracked GC object whose header holds nothing but flags; false otherwise.
    bool tagUntracked(PyObject* obj, std::uint32_t id) {
        PyGC_Head* g = compat::gcHead(obj);
        if (g->_gc_next != 0 || (g->_gc_prev & ~kFlags) != 0) return false;
        g->_gc_prev = tagged(g->_gc_prev, id);
        m_untracked.push_back(g);
        return true;
    }

    // The id stored in a GC object's header, or kNone.
    static std::uint32_t idOf(PyObject* obj) {
        std::uintptr_t prev = compat::gcHead(obj)->_gc_prev;
        return (prev & kTag) ? static_cast<std::uint32_t>((prev & ~kTag) >> _PyGC_PREV_SHIFT) : kNone;
    }

    // Puts every header back; the ids are gone afterwards.
    void restore() noexcept {
        std::size_t i = 0;
        for (const List& list : m_lists) {
            PyGC_Head* prev = list.head;
            for (; i < list.end; ++i) {
                if (i + kLookahead < m_tracked.size()) __builtin_prefetch(m_tracked[i + kLookahead], 1);
                m_tracked[i]->_gc_prev =
                    (m_tracked[i]->_gc_prev & kFlags) | reinterpret_cast<std::uintptr_t>(prev);
                prev = m_tracked[i];
            }
        }
        for (PyGC_Head* g : m_untracked) {
            if (g->_gc_prev & kTag) g->_gc_prev &= kFlags;
        }
        m_tracked.clear();
        m_lists.clear();
        m_untracked.clear();
    }

private:
    static constexpr std::uintptr_t kTag = std::uintptr_t(1) << 63;
    static constexpr std::uintptr_t kFlags = ~_PyGC_PREV_MASK;
    static constexpr std::size_t kLookahead = 16;

    static std::uintptr_t tagged(std::uintptr_t prev, std::uint32_t id) {
        return kTag | (static_cast<std::uintptr_t>(id) << _PyGC_PREV_SHIFT) | (prev & kFlags);
    }

    struct List {
        PyGC_Head* head;
        std::size_t end;  // one past its last object in m_tracked
    };
    std::vector<PyGC_Head*> m_tracked;  // every tracked object's header, in list order
    std::vector<List> m_lists;
    std::vector<PyGC_Head*> m_untracked;
};

}  // namespace memhound::heap
