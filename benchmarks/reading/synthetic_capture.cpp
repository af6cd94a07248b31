// Writes a synthetic capture with memhound's own CaptureWriter, for the reading benchmark:
// EVENTS events from two threads whose batches interleave, LIVE allocations live throughout
// (each replaced now and then at the same address, as pymalloc reuses blocks), and short-lived
// allocations in between. Usage: synthetic_capture PATH EVENTS LIVE
#include <fcntl.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/format/writer.h"

namespace {

using namespace memhound;

constexpr std::uint32_t kStacks = 200;
constexpr std::size_t kBatch = 8192;

class Random {  // xorshift64*: the generator must not be what the benchmark measures
public:
    std::uint64_t next() {
        m_state ^= m_state >> 12;
        m_state ^= m_state << 25;
        m_state ^= m_state >> 27;
        return m_state * 0x2545F4914F6CDD1Dull;
    }

private:
    std::uint64_t m_state = 0x9E3779B97F4A7C15ull;
};

std::string definitions() {
    std::string out;
    format::encodeCode(out, {common::CodeId(1), "synthetic.py", "work", 1, std::string("\x80\x00\xd8\x04", 4)});
    for (std::uint32_t stack = 1; stack <= kStacks; ++stack)
        format::encodeStackNode(out, {common::StackId(stack), common::StackId(stack / 4), common::CodeId(1), 0});
    return out;
}

class Generator {
public:
    Generator(format::CaptureWriter& writer, std::uint64_t live) : m_writer(writer), m_slots(live) {}

    void run(std::uint64_t events) {
        for (std::uint64_t slot = 0; slot < m_slots.size() && m_seq < events; ++slot) {
            m_slots[slot] = 0x7f00'0000'0000 + slot * 64;
            alloc(m_slots[slot], sizeOf(slot), stackOf(slot));
        }
        while (m_seq < events) {
            std::uint64_t r = m_random.next();
            if ((r & 7) != 0) {  // a temporary: made and freed at once, from a small pool of blocks
                std::uint64_t address = 0x7e00'0000'0000 + ((r >> 8) & 63) * 32;
                alloc(address, 32, 1 + static_cast<std::uint32_t>((r >> 16) % kStacks));
                free(address);
            } else {  // a long-lived allocation replaced at the same address
                std::uint64_t slot = (r >> 8) % m_slots.size();
                free(m_slots[slot]);
                alloc(m_slots[slot], sizeOf(r >> 20), stackOf(r >> 30));
            }
            if ((r >> 40) % 3000 == 0) m_thread ^= 1;  // the other thread takes the GIL
        }
        for (unsigned thread = 0; thread < 2; ++thread) flush(thread);
        m_writer.finish({m_seq, 1'000'000'000});
    }

private:
    static std::uint64_t sizeOf(std::uint64_t r) { return 16 + (r % 24) * 8; }
    static std::uint32_t stackOf(std::uint64_t r) { return 1 + static_cast<std::uint32_t>(r % kStacks); }

    void alloc(std::uint64_t address, std::uint64_t size, std::uint32_t stack) {
        push({address, size, ++m_seq, stack, format::EventKind::Alloc, common::Allocator::PyObject, 0});
    }
    void free(std::uint64_t address) {
        push({address, 0, ++m_seq, 0, format::EventKind::Free, common::Allocator::PyObject, 0});
    }
    void push(const format::RawEvent& event) {
        m_buffers[m_thread].push_back(event);
        if (m_buffers[m_thread].size() == kBatch) flush(m_thread);
    }
    void flush(unsigned thread) {
        m_writer.writeBatch(common::ThreadId(thread), m_buffers[thread], m_definitions);
        m_definitions.clear();
        m_buffers[thread].clear();
    }

    format::CaptureWriter& m_writer;
    std::vector<std::uint64_t> m_slots;
    std::vector<format::RawEvent> m_buffers[2];
    std::string m_definitions = definitions();
    Random m_random;
    std::uint64_t m_seq = 0;
    unsigned m_thread = 0;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: synthetic_capture PATH EVENTS LIVE\n");
        return 2;
    }
    int fd = ::open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::perror(argv[1]);
        return 1;
    }
    format::Header header;
    header.pythonVersion = "synthetic";
    header.argv = {"synthetic_capture"};
    format::CaptureWriter writer(fd, header);
    Generator(writer, std::strtoull(argv[3], nullptr, 10)).run(std::strtoull(argv[2], nullptr, 10));
    if (writer.failed()) {
        std::fprintf(stderr, "synthetic_capture: %s\n", writer.error().c_str());
        return 1;
    }
    return 0;
}
