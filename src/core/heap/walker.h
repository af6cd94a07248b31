#pragma once
// The heap walk: every GC-tracked object, everything reachable from them and from the roots
// through tp_traverse, with shallow sizes, types, allocation addresses and labelled roots.
// Runs under the GIL; leaves refcounts, instance dicts and the collector's state as they were.
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/heap/heap_compat.h"
#include "core/heap/heap_snapshot.h"

namespace memhound::heap {

struct WalkOptions {
    // Objects of the caller's own bookkeeping: neither counted nor followed.
    std::unordered_set<PyObject*> exclude;
    // threading.get_ident() -> thread name, for frame root labels.
    std::unordered_map<unsigned long, std::string> threadNames;
    // Frames running these code objects (the snapshot call itself) are not roots.
    std::unordered_set<PyObject*> skipCode;
};

// Throws common::Error when the heap cannot be walked now (the collector is running).
std::unique_ptr<HeapSnapshot> walkHeap(const WalkOptions& options);

}  // namespace memhound::heap
