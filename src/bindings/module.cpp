#include "bindings/bindings.h"

#include "core/common/error.h"

namespace nb = nanobind;

NB_MODULE(_core, m) {
    m.doc() = "memhound's C++ core: recorder, capture analysis, heap walker and graph algorithms";
    // Core errors surface as memhound._core.CaptureError / CoreError; the package re-wraps them.
    // Translators registered later are tried first, so the derived FormatError comes second.
    static nb::exception<memhound::common::Error> coreError(m, "CoreError", PyExc_RuntimeError);
    static nb::exception<memhound::common::FormatError> captureError(m, "CaptureError", coreError);
    memhound::bindings::bindRecord(m);
    memhound::bindings::bindAnalysis(m);
    memhound::bindings::bindHeap(m);
    memhound::bindings::bindGraph(m);
    memhound::bindings::bindSizes(m);
    memhound::bindings::bindObjects(m);
}
