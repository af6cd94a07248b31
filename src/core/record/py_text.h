#pragma once
// Reading Python strings into UTF-8 without calling into the interpreter: no allocation through
// PyMem, no exception state touched (safe inside allocator hooks). Include compat.h first.
#include <string>

#include "core/record/compat.h"

namespace memhound::record {

// UTF-8 of a str object; empty for anything else.
std::string utf8Of(PyObject* text);

}  // namespace memhound::record
