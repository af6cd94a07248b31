#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "bindings/bindings.h"
#include "core/record/line_meter.h"
#include "core/record/tracer.h"

namespace nb = nanobind;

namespace memhound::bindings {

void bindRecord(nb::module_& m) {
    m.def(
        "start_tracing",
        [](std::string path, std::uint64_t sampleBytes, bool followFork, std::vector<std::string> argv, bool native,
           bool nativeFrames) {
            record::startTracing(record::TraceOptions{std::move(path), sampleBytes, followFork, native, nativeFrames,
                                                      std::move(argv)});
        },
        nb::arg("path"), nb::arg("sample_bytes") = 0, nb::arg("follow_fork") = false,
        nb::arg("argv") = std::vector<std::string>{}, nb::arg("native") = false, nb::arg("native_frames") = false,
        "Starts recording every allocation (or a Poisson sample by bytes) into the capture file at path;\n"
        "native: the C allocator too (malloc, mmap, ... of every loaded library);\n"
        "native_frames: and the C call stack of each native allocation (implies native).");
    m.def("native_patched_slots", &record::nativePatchedSlots,
          "How many GOT slots of loaded objects hold a memhound hook now (tests).");
    m.def("stop_tracing", &record::stopTracing, "Stops recording and completes the capture file.");
    m.def("flush_tracing", &record::flushTracing, "Returns when every event recorded so far is in the file.");
    m.def("release_unused_code", &record::releaseUnusedCode,
          "Releases the code objects that only the recorder still holds (code compiled again and again).");
    m.def("is_tracing", &record::isTracing, "True while this process records into a capture file.");
    m.def("tracing_path", &record::tracingPath, "The capture file being written, or None.");
    m.def("meter_start", &record::meter::start,
          "Starts the line meter's byte counters (nested: counting lasts until the last meter_stop).");
    m.def("meter_stop", &record::meter::stop, "Ends one meter_start.");
    m.def("meter_users", &record::meter::users, "How many meter_start calls are not stopped yet.");
    m.def(
        "meter_pause_and_read",
        [] {
            const record::meter::Reading r = record::meter::pauseAndRead();
            return std::make_tuple(r.thread.allocated, r.thread.freed, r.thread.high, r.process.allocated,
                                   r.process.freed, r.process.high);
        },
        "Stops counting this thread's allocations until meter_resume and returns (thread allocated,\n"
        "freed, high, process allocated, freed, high); each high is reset to the current level.");
    m.def("meter_resume", &record::meter::resume, "Counts this thread's allocations again.");
    m.def("current_seq", &record::currentSeq, "The sequence number the next recorded event will get.");
}

}  // namespace memhound::bindings
