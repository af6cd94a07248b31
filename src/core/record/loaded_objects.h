#pragma once
// The objects the loader has mapped (dl_iterate_phdr), as the capture records them so that native
// frames are named at read time (format::MappingRecord), and the address span of one object (the
// native stack walk tells memhound's and the interpreter's frames from the others). No Python.h.
#include <cstdint>
#include <string>
#include <vector>

#include "core/format/records.h"

namespace memhound::record {

struct AddressSpan {
    std::uintptr_t low = 0;
    std::uintptr_t high = 0;  // past the end; {0, 0} holds nothing
    bool holds(std::uintptr_t address) const { return address >= low && address < high; }
};

// The span of the loadable segments of the object holding `address` ({0, 0} when none does).
AddressSpan objectSpanOf(const void* address);

// Appends a Mapping record to `definitions` for every loaded object with a file that `known` does
// not hold yet, and adds it there (the writer thread's list, for one capture file). The vDSO and
// other objects without a file are left out. Allocates: run it where the allocations are the tool's.
void appendNewMappings(std::string& definitions, std::vector<format::MappingRecord>& known);

}  // namespace memhound::record
