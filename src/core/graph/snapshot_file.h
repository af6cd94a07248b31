#pragma once
// Saving and loading a heap snapshot for offline analysis.
//
// File layout (version 1, little-endian, no padding):
//   magic "MHSNAP\r\n" (8 bytes), u32 version
//   columns, each `u64 count` then `count` fixed-size items:
//     offsets u32 (nodes + 1), targets u32, sizes u64, types u32, addresses u64,
//     sequences u64 (allocation sequence number per node, 0 = unknown; empty without the tracer),
//     stacks u32 (allocation stack per node; empty without the tracer),
//     roots (u32 node, u8 kind, u32 label), path label kinds u8, path labels u32, path owners u32
//   string tables, each `u64 count` then per string `u64 length` + bytes:
//     type names, root labels, strings (label and owner texts)
//   u32 checksum (common::checksum32 of every byte before it)
// Path labels describe, per node, the edge into it on its shortest path (see paths.h), so a loaded
// snapshot renders paths without the live objects. Bump kSnapshotVersion on every change.
#include <cstdint>
#include <string>
#include <vector>

#include "core/graph/object_graph.h"

namespace memhound::graph {

inline constexpr std::uint32_t kSnapshotVersion = 1;

// The label of one edge as shown in a path: its kind (an index into the label-kind vocabulary of
// the heap layer), its text and the name of the object it leaves (a function for closure cells).
struct PathLabel {
    std::uint8_t kind = 0;
    std::uint32_t label = 0;  // index into SnapshotData::strings
    std::uint32_t owner = 0;  // index into SnapshotData::strings
};

struct SnapshotData {
    ObjectGraph graph;
    std::vector<std::string> typeNames;
    std::vector<std::string> rootLabels;
    std::vector<std::uint64_t> sequences;
    std::vector<std::uint32_t> stacks;
    std::vector<PathLabel> pathLabels;  // one per node, or empty
    std::vector<std::string> strings;
};

// Throws common::Error when the file cannot be written.
void saveSnapshot(const std::string& path, const SnapshotData& data);
// Throws common::FormatError (with the offset) on a corrupt, truncated or foreign file.
SnapshotData loadSnapshot(const std::string& path);

}  // namespace memhound::graph
