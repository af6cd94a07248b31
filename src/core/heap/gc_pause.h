#pragma once
// Keeps the cyclic collector from running while a walk holds borrowed pointers; restores its state.
#include "core/heap/heap_compat.h"

namespace memhound::heap {

class GcPause {
public:
    GcPause() : m_wasEnabled(PyGC_Disable() != 0) {}
    ~GcPause() {
        if (m_wasEnabled) PyGC_Enable();
    }
    GcPause(const GcPause&) = delete;
    GcPause& operator=(const GcPause&) = delete;

private:
    bool m_wasEnabled;
};

}  // namespace memhound::heap
