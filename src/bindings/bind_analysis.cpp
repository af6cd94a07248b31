#include "bindings/bindings.h"

namespace memhound::bindings {
// Bring-up: the owner of core/analysis replaces this with the real bindings.
void bindAnalysis(nanobind::module_&) {}
}  // namespace memhound::bindings
