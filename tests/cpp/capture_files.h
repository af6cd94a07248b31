#pragma once
// Test support: writing captures with the real CaptureWriter into temporary files and reading
// their bytes back, plus a pymalloc-like synthetic event stream for the size measurements.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <functional>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/format/format.h"

namespace memhound::testing {

// A temporary file removed when the object goes away.
class TempFile {
public:
    TempFile() {
        char name[] = "/tmp/memhound-test-XXXXXX";
        m_fd = ::mkstemp(name);
        m_path = name;
    }
    ~TempFile() {
        if (m_fd >= 0) ::close(m_fd);
        ::unlink(m_path.c_str());
    }
    // Hands the descriptor to a writer, which closes it.
    int releaseFd() {
        int fd = m_fd;
        m_fd = -1;
        return fd;
    }
    std::string bytes() const {
        std::ifstream in(m_path, std::ios::binary);
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
    }

private:
    int m_fd;
    std::string m_path;
};

inline format::Header sampleHeader() {
    format::Header header;
    header.pythonVersion = "3.11.7";
    header.pid = 4242;
    header.argv = {"app.py", "--flag", "é"};
    header.startTimeNs = 1'700'000'000'000'000'000;
    return header;
}

// Writes a capture through CaptureWriter and returns the file's bytes.
inline std::string writeCapture(const format::Header& header,
                                const std::function<void(format::CaptureWriter&)>& body) {
    TempFile file;
    format::CaptureWriter writer(file.releaseFd(), header);
    body(writer);
    return file.bytes();
}

inline format::RawEvent rawAlloc(std::uint64_t seq, std::uint64_t address, std::uint64_t size,
                                 std::uint32_t stack,
                                 common::Allocator allocator = common::Allocator::PyObject) {
    return {address, size, seq, stack, format::EventKind::Alloc, allocator, 0};
}

inline format::RawEvent rawFree(std::uint64_t seq, std::uint64_t address,
                                common::Allocator allocator = common::Allocator::PyObject) {
    return {address, 0, seq, 0, format::EventKind::Free, allocator, 0};
}

// Definitions for the stacks SyntheticWorkload uses (1..kSites), all in one code object.
inline std::string syntheticDefinitions(std::uint32_t sites) {
    std::string defs;
    format::encodeCode(defs, {common::CodeId(1), "app.py", "main", 1, {}});
    for (std::uint32_t stack = 1; stack <= sites; ++stack)
        format::encodeStackNode(defs, {common::StackId(stack), common::StackId(0), common::CodeId(1),
                                       static_cast<std::int32_t>(stack)});
    return defs;
}

// Events shaped like a Python program's: small objects from 16-byte size classes in 4 KiB pools
// with LIFO free lists (pymalloc), a few hundred allocation sites of skewed popularity, most
// objects freed a few events after their allocation, some kept longer, larger blocks from malloc.
class SyntheticWorkload {
public:
    explicit SyntheticWorkload(std::uint32_t seed) : m_random(seed) {
        for (std::uint32_t site = 0; site < kSites; ++site) m_siteSize.push_back(siteSize());
    }

    std::vector<format::RawEvent> events(std::size_t count) {
        std::vector<format::RawEvent> out;
        out.reserve(count);
        while (out.size() < count) step(out);
        out.resize(count);
        return out;
    }

    static constexpr std::uint32_t kSites = 300;

private:
    struct Live {
        std::uint64_t address, size, freeAt;
        bool operator<(const Live& other) const { return freeAt > other.freeAt; }  // earliest on top
    };

    std::uint64_t siteSize() {
        std::uniform_int_distribution<int> pick(0, 99);
        int p = pick(m_random);
        if (p < 70) return 16 + 8 * static_cast<std::uint64_t>(pick(m_random) % 10);  // small objects
        if (p < 97) return 100 + static_cast<std::uint64_t>(pick(m_random)) * 4;      // strings, dicts
        return 600 + static_cast<std::uint64_t>(pick(m_random)) * 300;                // buffers
    }

    std::uint32_t site() {
        // Skewed popularity: a few hot sites make most allocations.
        std::exponential_distribution<double> skew(0.05);
        return 1 + static_cast<std::uint32_t>(skew(m_random)) % kSites;
    }

    std::uint64_t allocate(std::uint64_t size) {
        if (size > 512) {
            m_mallocTop += (size + 31) & ~std::uint64_t{15};
            return m_mallocTop;
        }
        std::uint64_t sizeClass = (size + 15) / 16;
        std::vector<std::uint64_t>& freeList = m_freeLists[sizeClass];
        if (!freeList.empty()) {
            std::uint64_t address = freeList.back();
            freeList.pop_back();
            return address;
        }
        std::uint64_t& next = m_poolNext[sizeClass];
        if (next == 0 || (next + sizeClass * 16) % 4096 < next % 4096) {
            m_arenaTop += 4096;
            next = m_arenaTop + 48;  // after the pool header
        }
        std::uint64_t address = next;
        next += sizeClass * 16;
        return address;
    }

    void release(const Live& live, std::vector<format::RawEvent>& out) {
        out.push_back(rawFree(++m_seq, live.address));
        if (live.size <= 512) m_freeLists[(live.size + 15) / 16].push_back(live.address);
    }

    void step(std::vector<format::RawEvent>& out) {
        std::uint32_t stack = site();
        std::uint64_t size = m_siteSize[stack - 1];
        std::uint64_t address = allocate(size);
        out.push_back(rawAlloc(++m_seq, address, size, stack));
        std::uniform_int_distribution<int> lifetime(0, 99);
        int p = lifetime(m_random);
        std::uint64_t freeAt = m_seq + (p < 85 ? 1 + p % 8 : p < 98 ? 50 + p * 20 : ~std::uint64_t{0});
        m_live.push({address, size, freeAt});
        while (!m_live.empty() && m_live.top().freeAt <= m_seq) {  // a release advances m_seq too
            release(m_live.top(), out);
            m_live.pop();
        }
    }

    std::mt19937 m_random;
    std::vector<std::uint64_t> m_siteSize;
    std::priority_queue<Live> m_live;
    std::vector<std::uint64_t> m_freeLists[33];
    std::uint64_t m_poolNext[33] = {};
    std::uint64_t m_arenaTop = 0x7f3a'1c00'0000;
    std::uint64_t m_mallocTop = 0x5600'0000'0000;
    std::uint64_t m_seq = 0;
};

}  // namespace memhound::testing
