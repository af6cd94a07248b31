#pragma once
// The capture file: its records, the writer used by the recorder and the reader used by the
// analysis. Including this one header gives all three.
#include "core/format/reader.h"
#include "core/format/records.h"
#include "core/format/writer.h"
