#pragma once
// Naming native frames at read time, from the mappings the recorder wrote (the hooks record
// return addresses only): each object's ELF symbol tables (.symtab, .dynsym) name the function,
// its DWARF line table (or separate debug info found by build id) gives the file and line, C++
// names are demangled. An object that is gone, or whose build id changed since the capture,
// shows as object+0xOFFSET. Uses elfutils' libdwfl; each object is opened once, on first use.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/format/records.h"

namespace memhound::analysis {

struct NativeFrame {
    std::uint64_t address = 0;  // the return address as recorded
    std::string object;         // path of the loaded object; empty when no mapping holds it
    std::uint64_t offset = 0;   // address - the object's load bias (its ELF virtual address)
    std::string function;       // demangled; empty when no symbol covers it
    std::string file;           // source file, empty without line info
    std::int32_t line = 0;      // 0 = unknown
    bool operator==(const NativeFrame&) const = default;
};

class NativeSymbolizer {
public:
    explicit NativeSymbolizer(std::vector<format::MappingRecord> mappings);
    ~NativeSymbolizer();
    NativeSymbolizer(const NativeSymbolizer&) = delete;
    NativeSymbolizer& operator=(const NativeSymbolizer&) = delete;

    // Any thread (a mutex guards the caches).
    NativeFrame resolve(std::uint64_t address) const;

private:
    struct Module;
    const format::MappingRecord* mappingOf(std::uint64_t address) const;
    Module& moduleFor(std::size_t mapping) const;
    NativeFrame symbolize(std::uint64_t address) const;

    std::vector<format::MappingRecord> m_mappings;  // sorted by start
    mutable std::mutex m_mutex;
    mutable std::map<std::size_t, std::unique_ptr<Module>> m_modules;  // by index in m_mappings
    mutable std::unordered_map<std::uint64_t, NativeFrame> m_resolved;
};

// "name" for a mangled C++ symbol, the symbol itself otherwise.
std::string demangle(const std::string& symbol);

}  // namespace memhound::analysis
