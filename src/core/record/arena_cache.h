#pragma once
// While tracing, the interpreter's arena allocator keeps a few freed small blocks for reuse.
// CPython maps and unmaps a chunk of its frame data stack each time recursion crosses a chunk
// boundary (thousands of times a second in deep recursion). Alone, a munmap is cheap; with the
// writer thread running beside the program, each one interrupts the writer's CPU to flush its
// TLB, which made such programs a third slower under tracing. Called under the GIL.
// Include compat.h first.
#include "core/record/compat.h"

namespace memhound::record {

void installArenaCache();
// Unmaps the kept blocks; the allocator stays in a chain another tool installed above it.
void restoreArenaCache();

}  // namespace memhound::record
