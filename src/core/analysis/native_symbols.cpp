#include "core/analysis/native_symbols.h"

#include <cxxabi.h>
#include <elfutils/libdwfl.h>

#include <algorithm>
#include <cstdlib>

namespace memhound::analysis {
namespace {

// Separate debug info is looked for by build id and .gnu_debuglink in the usual places
// (/usr/lib/debug); no debuginfod (a report must not go to the network).
char* g_debuginfoPath = nullptr;
const Dwfl_Callbacks kOfflineCallbacks = {
    dwfl_build_id_find_elf, dwfl_standard_find_debuginfo, dwfl_offline_section_address, &g_debuginfoPath};

}  // namespace

std::string demangle(const std::string& symbol) {
    if (symbol.rfind("_Z", 0) != 0) return symbol;
    int status = 0;
    char* plain = abi::__cxa_demangle(symbol.c_str(), nullptr, nullptr, &status);
    if (plain == nullptr) return symbol;
    std::string out(plain);
    std::free(plain);
    return out;
}

// One object, reported alone in its own session so that objects loaded one after another at the
// same addresses never overlap. `module` is null when the file is gone or is not the one recorded.
struct NativeSymbolizer::Module {
    Dwfl* dwfl = nullptr;
    Dwfl_Module* module = nullptr;

    Module(const format::MappingRecord& mapping) {
        dwfl = dwfl_begin(&kOfflineCallbacks);
        if (dwfl == nullptr) return;
        dwfl_report_begin(dwfl);
        module = dwfl_report_elf(dwfl, mapping.path.c_str(), mapping.path.c_str(), -1, mapping.bias, true);
        dwfl_report_end(dwfl, nullptr, nullptr);
        if (module != nullptr && !mapping.buildId.empty() && buildIdOf(module) != mapping.buildId) module = nullptr;
    }
    ~Module() {
        if (dwfl != nullptr) dwfl_end(dwfl);
    }
    static std::string buildIdOf(Dwfl_Module* module) {
        const unsigned char* bits = nullptr;
        GElf_Addr at = 0;
        const int size = dwfl_module_build_id(module, &bits, &at);
        return size > 0 ? std::string(reinterpret_cast<const char*>(bits), static_cast<std::size_t>(size)) : "";
    }
};

NativeSymbolizer::NativeSymbolizer(std::vector<format::MappingRecord> mappings) : m_mappings(std::move(mappings)) {}
NativeSymbolizer::~NativeSymbolizer() = default;

// The last mapping recorded that starts at or below the address and holds it.
const format::MappingRecord* NativeSymbolizer::mappingOf(std::uint64_t address) const {
    auto it = std::upper_bound(m_mappings.begin(), m_mappings.end(), address,
                               [](std::uint64_t a, const format::MappingRecord& m) { return a < m.start; });
    while (it != m_mappings.begin()) {
        --it;
        if (address < it->end) return &*it;
    }
    return nullptr;
}

NativeSymbolizer::Module& NativeSymbolizer::moduleFor(std::size_t mapping) const {
    std::unique_ptr<Module>& module = m_modules[mapping];
    if (!module) module = std::make_unique<Module>(m_mappings[mapping]);
    return *module;
}

NativeFrame NativeSymbolizer::resolve(std::uint64_t address) const {
    std::lock_guard lock(m_mutex);
    auto found = m_resolved.find(address);
    if (found != m_resolved.end()) return found->second;
    return m_resolved.emplace(address, symbolize(address)).first->second;
}

// A return address is the instruction after the call: the call itself is one byte before, which
// keeps a call at the very end of a function (to a noreturn callee) in that function.
NativeFrame NativeSymbolizer::symbolize(std::uint64_t address) const {
    NativeFrame frame;
    frame.address = address;
    const format::MappingRecord* mapping = mappingOf(address);
    if (mapping == nullptr) return frame;
    frame.object = mapping->path;
    frame.offset = address - mapping->bias;
    Module& module = moduleFor(static_cast<std::size_t>(mapping - m_mappings.data()));
    if (module.module == nullptr) return frame;
    const Dwarf_Addr call = address - 1;
    GElf_Off symbolOffset = 0;
    GElf_Sym symbol;
    if (const char* name = dwfl_module_addrinfo(module.module, call, &symbolOffset, &symbol, nullptr, nullptr, nullptr))
        frame.function = demangle(name);
    if (Dwfl_Line* line = dwfl_module_getsrc(module.module, call)) {
        int lineNumber = 0;
        if (const char* file = dwfl_lineinfo(line, nullptr, &lineNumber, nullptr, nullptr, nullptr)) {
            frame.file = file;
            frame.line = lineNumber;
        }
    }
    return frame;
}

}  // namespace memhound::analysis
