#pragma once
// One registration function per core folder; module.cpp calls them all.
#include <nanobind/nanobind.h>

namespace memhound::bindings {
void bindRecord(nanobind::module_& m);
void bindAnalysis(nanobind::module_& m);
void bindHeap(nanobind::module_& m);
void bindGraph(nanobind::module_& m);
void bindSizes(nanobind::module_& m);
void bindObjects(nanobind::module_& m);
}  // namespace memhound::bindings
