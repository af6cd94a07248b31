#include "bindings/bindings.h"

namespace memhound::bindings {
// Bring-up: the owner of core/heap replaces this with the real bindings.
void bindHeap(nanobind::module_&) {}
}  // namespace memhound::bindings
