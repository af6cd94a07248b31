#include "bindings/bindings.h"

namespace memhound::bindings {
// Bring-up: the owner of core/graph replaces this with the real bindings.
void bindGraph(nanobind::module_&) {}
}  // namespace memhound::bindings
