#pragma once
// --native-frames: the C call stack of a native allocation, walked in the hook and interned per
// thread as a chain of NativeFrame records on top of the event's Python stack node (records.h).
//
// The walk is libgcc's _Unwind_Backtrace (DWARF call frame information, as the objects carry it
// for C++ exceptions): Debian builds CPython and most libraries without frame pointers, so a
// frame-pointer walk stops after a frame or two. With glibc 2.35+ and libgcc 12+ it finds each
// object's unwind table through _dl_find_object, which takes no lock and allocates nothing; it
// is primed at start (its first call sets up its register tables). The walk skips memhound's own
// frames and the interpreter's at the top (PyMem_RawMalloc's), records up to kMaxNativeFrames,
// and stops at the first frame of the interpreter below them: from there on the Python stack says
// where the program is, and the C frames of the evaluation loop would only cost time. No Python,
// no lock; ids come from the stack nodes' counter. Include compat.h first.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/common/ids.h"

namespace memhound::record {

inline constexpr std::size_t kMaxNativeFrames = 64;

// At start (GIL held): finds memhound's and the interpreter's spans and primes the unwinder.
void prepareNativeStacks();

// The calling thread's C stack above `python`, interned in its own table: the innermost native
// frame's id, or `python` itself when the walk found no frame outside memhound and the
// interpreter. New records are appended to the thread's pending definitions (takePending).
// Inside a RecorderGuard; any thread, with or without the GIL.
common::StackId nativeStackOn(common::StackId python);
// A stack node for (parent, code, offset) in the calling thread's own table, for an event made
// without the GIL when the thread's top frame has moved to another instruction since its last
// capture (StackCapture::unmovedTop): the thread's capture tables are not touched without the
// GIL, so the node may duplicate one of theirs (same content, another id; the reader groups by
// content). Announced in the pending definitions. Inside a RecorderGuard.
common::StackId stackNodeWithoutGil(common::StackId parent, common::CodeId code, int offset);
// Moves the calling thread's pending definitions to the end of `out`.
void takeNativeDefinitions(std::string& out);
// Whether the thread has definitions waiting (the common case is none).
bool hasNativeDefinitions();

}  // namespace memhound::record
