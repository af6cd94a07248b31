#pragma once
// The census walk behind memhound.summary(): the objects the heap walk finds (every GC-tracked
// object, and everything reachable from those and from the threads' frames through tp_traverse),
// each counted once with its shallow size, per type. It records no graph, so it costs only a
// visit per reference and a lookup for shared objects without a GC header.
// Runs under the GIL; leaves refcounts, instance dicts and the collector's state as they were.
#include <unordered_set>

#include "core/graph/type_census.h"
#include "core/heap/heap_compat.h"

namespace memhound::heap {

struct CensusOptions {
    // Objects of the caller's own bookkeeping: neither counted nor followed.
    std::unordered_set<PyObject*> exclude;
    // Frames running these code objects (the census call itself) are not followed, nor counted
    // when a frame object was made for them.
    std::unordered_set<PyObject*> skipCode;
};

// Throws common::Error when the heap cannot be walked now (the collector is running).
graph::TypeCensus censusHeap(const CensusOptions& options);

}  // namespace memhound::heap
