#include "bindings/bindings.h"

namespace memhound::bindings {
// Bring-up: the owner of core/record replaces this with the real bindings.
void bindRecord(nanobind::module_&) {}
}  // namespace memhound::bindings
