#pragma once
// The recorder's entry points for the bindings (no Python.h here). Every function is called
// with the GIL held; misuse and I/O errors at start throw common::Error.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memhound::record {

struct TraceOptions {
    std::string path;
    std::uint64_t sampleBytes = 0;  // 0 = full mode (every allocation)
    bool followFork = false;        // a forked child writes its own capture at path.<pid>
    bool native = false;            // trace the C allocator too (native_hooks.h)
    bool nativeFrames = false;      // and the C call stack of its events (native_stack.h; implies native)
    std::vector<std::string> argv;  // stored in the header
};

void startTracing(const TraceOptions& options);
void stopTracing();
// Returns when every event recorded so far is in the file.
void flushTracing();
// Releases the code objects that the recorder alone still holds (it keeps a reference to each
// code it has seen, so that no other code object takes its address while its id is in use):
// code compiled again and again (exec, a doctest's examples) is then not kept alive by tracing.
void releaseUnusedCode();
bool isTracing();
std::optional<std::string> tracingPath();
// GOT slots of loaded objects that hold a hook now (tests).
std::size_t nativePatchedSlots();
// The sequence number the next event will get.
std::uint64_t currentSeq();

}  // namespace memhound::record
