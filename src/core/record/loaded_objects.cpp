#include "core/record/loaded_objects.h"

#include <elf.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace memhound::record {
namespace {

AddressSpan loadSpan(const dl_phdr_info* info) {
    AddressSpan span{~std::uintptr_t{0}, 0};
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& segment = info->dlpi_phdr[i];
        if (segment.p_type != PT_LOAD) continue;
        span.low = std::min<std::uintptr_t>(span.low, info->dlpi_addr + segment.p_vaddr);
        span.high = std::max<std::uintptr_t>(span.high, info->dlpi_addr + segment.p_vaddr + segment.p_memsz);
    }
    return span.high == 0 ? AddressSpan{} : span;
}

struct SpanSearch {
    std::uintptr_t address;
    AddressSpan found;
};

int findSpan(dl_phdr_info* info, std::size_t, void* data) {
    auto* search = static_cast<SpanSearch*>(data);
    const AddressSpan span = loadSpan(info);
    if (!span.holds(search->address)) return 0;
    search->found = span;
    return 1;
}

// The GNU build id from the object's notes as mapped (empty when it has none).
std::string buildIdOf(const dl_phdr_info* info) {
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& segment = info->dlpi_phdr[i];
        if (segment.p_type != PT_NOTE) continue;
        const char* at = reinterpret_cast<const char*>(info->dlpi_addr + segment.p_vaddr);
        const char* end = at + segment.p_memsz;
        while (at + sizeof(ElfW(Nhdr)) <= end) {
            ElfW(Nhdr) note;
            std::memcpy(&note, at, sizeof note);
            const char* name = at + sizeof note;
            const char* desc = name + ((note.n_namesz + 3) & ~3u);
            const char* next = desc + ((note.n_descsz + 3) & ~3u);
            if (next > end) break;
            if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0)
                return std::string(desc, note.n_descsz);
            at = next;
        }
    }
    return {};
}

std::string executablePath() {
    char path[PATH_MAX];
    const ssize_t size = readlink("/proc/self/exe", path, sizeof path);
    return size > 0 ? std::string(path, static_cast<std::size_t>(size)) : std::string();
}

int collectMapping(dl_phdr_info* info, std::size_t, void* data) {
    auto* out = static_cast<std::vector<format::MappingRecord>*>(data);
    const bool executable = out->empty() && (info->dlpi_name == nullptr || info->dlpi_name[0] == '\0');
    const AddressSpan span = loadSpan(info);
    if (span.high == 0) return 0;
    std::string path = executable ? executablePath() : std::string(info->dlpi_name ? info->dlpi_name : "");
    if (path.find('/') == std::string::npos) return 0;  // the vDSO: no file to read
    out->push_back({std::move(path), info->dlpi_addr, span.low, span.high, buildIdOf(info)});
    return 0;
}

}  // namespace

AddressSpan objectSpanOf(const void* address) {
    SpanSearch search{reinterpret_cast<std::uintptr_t>(address), {}};
    dl_iterate_phdr(&findSpan, &search);
    return search.found;
}

void appendNewMappings(std::string& definitions, std::vector<format::MappingRecord>& known) {
    std::vector<format::MappingRecord> loaded;
    dl_iterate_phdr(&collectMapping, &loaded);
    for (format::MappingRecord& mapping : loaded) {
        if (std::find(known.begin(), known.end(), mapping) != known.end()) continue;
        format::encodeMapping(definitions, mapping);
        known.push_back(std::move(mapping));
    }
}

}  // namespace memhound::record
