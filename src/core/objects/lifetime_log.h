#pragma once
// The class tracker's record of ended instances: one record per instance when it dies (or is found
// gone), holding its whole life, delta- and varint-encoded into 1 MiB chunks. A loop that creates
// and drops a million instances writes ~6 MB instead of 64 MB of fixed-size creation and
// destruction events: on the hot path, fresh memory (page faults and zeroing) was the cost that
// mattered. Instances still alive are in the live table, not here. Interpreter-free.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/common/varint.h"

namespace memhound::objects {

struct Lifetime {
    std::uint64_t startTick = 0;
    std::uint64_t endTick = 0;
    std::uintptr_t address = 0;
    std::uint32_t size = 0;
    std::uint32_t stack = 0;  // 0: none recorded
    std::uint32_t group = 0;
    bool adopted = false;  // tracked from track_object on, not from its creation
    bool lost = false;     // ended unseen: its address was reused by a new tracked instance
};

class LifetimeLog {
public:
    static constexpr std::size_t kChunkBytes = std::size_t{1} << 20;

    std::size_t size() const { return m_count; }
    // Bytes the records take (not counting the unused end of the last chunk).
    std::size_t bytes() const {
        std::size_t total = 0;
        for (std::size_t c = 0; c + 1 < m_chunks.size(); ++c) total += m_used[c];
        return m_chunks.empty() ? 0 : total + static_cast<std::size_t>(m_cursor - m_chunks.back().get());
    }

    void push(const Lifetime& r) {
        if (static_cast<std::size_t>(m_limit - m_cursor) < kMaxRecord) [[unlikely]]
            addChunk();
        std::uint8_t* out = m_cursor + 1;
        std::uint8_t flags = static_cast<std::uint8_t>((r.adopted ? kAdopted : 0) | (r.lost ? kLost : 0));
        if (r.group != m_last.group) {
            flags |= kGroup;
            out = common::putVarint(out, r.group);
        }
        if (r.size != m_last.size) {
            flags |= kSize;
            out = common::putVarint(out, r.size);
        }
        if (r.stack != 0) {
            flags |= kStack;
            out = common::putVarint(out, r.stack);
        }
        out = common::putVarint(out, common::zigzagEncode(static_cast<std::int64_t>(r.address - m_last.address)));
        out = common::putVarint(out, common::zigzagEncode(static_cast<std::int64_t>(r.startTick - m_last.startTick)));
        out = common::putVarint(out, r.endTick - r.startTick);
        *m_cursor = flags;
        m_cursor = out;
        m_last = r;
        ++m_count;
    }

    // fn(const Lifetime&) for each record, in the order pushed.
    template <typename Fn>
    void forEach(Fn&& fn) const {
        Lifetime r;
        for (std::size_t c = 0; c < m_chunks.size(); ++c) {
            const std::uint8_t* begin = m_chunks[c].get();
            const std::uint8_t* end = c + 1 == m_chunks.size() ? m_cursor : begin + m_used[c];
            common::ByteCursor in(begin, end);
            while (!in.atEnd()) {
                std::uint8_t flags = in.byte();
                r.adopted = (flags & kAdopted) != 0;
                r.lost = (flags & kLost) != 0;
                if (flags & kGroup) r.group = static_cast<std::uint32_t>(in.varint());
                if (flags & kSize) r.size = static_cast<std::uint32_t>(in.varint());
                r.stack = (flags & kStack) ? static_cast<std::uint32_t>(in.varint()) : 0;
                r.address += static_cast<std::uintptr_t>(in.svarint());
                r.startTick += static_cast<std::uint64_t>(in.svarint());
                r.endTick = r.startTick + in.varint();
                fn(static_cast<const Lifetime&>(r));
            }
        }
    }

    // Keeps the records for which drop(record) is false, in order.
    template <typename Pred>
    void eraseIf(Pred&& drop) {
        LifetimeLog kept;
        forEach([&](const Lifetime& r) {
            if (!drop(r)) kept.push(r);
        });
        *this = std::move(kept);
    }

private:
    static constexpr std::uint8_t kAdopted = 1, kLost = 2, kGroup = 4, kSize = 8, kStack = 16;
    static constexpr std::size_t kMaxRecord = 1 + 5 * 3 + 10 * 3;

    void addChunk() {
        if (!m_chunks.empty()) m_used.back() = static_cast<std::size_t>(m_cursor - m_chunks.back().get());
        m_chunks.push_back(std::make_unique_for_overwrite<std::uint8_t[]>(kChunkBytes));
        m_used.push_back(0);
        m_cursor = m_chunks.back().get();
        m_limit = m_cursor + kChunkBytes;
    }

    std::vector<std::unique_ptr<std::uint8_t[]>> m_chunks;
    std::vector<std::size_t> m_used;  // bytes written in each chunk but the last
    std::uint8_t* m_cursor = nullptr;
    std::uint8_t* m_limit = nullptr;
    std::size_t m_count = 0;
    Lifetime m_last;  // the previous record: the base of the deltas
};

}  // namespace memhound::objects
