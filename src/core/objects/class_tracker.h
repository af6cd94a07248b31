#pragma once
// The class tracker's core: hooks on the allocation slots of tracked classes that record every
// creation and destruction of their instances (time, address, size, optionally the Python stack)
// into one process-wide record, and the set of live instances kept as addresses, never as
// references. Everything runs under the GIL, which serialises the hooks of all threads.
//
// Creation is seen in tp_alloc and destruction in tp_free, both looked up on the instance's own
// type (see docs/design.md, "ClassTracker hooks tp_alloc and tp_free"):
// - tp_free runs after the object is fully torn down and only when it really dies (a __del__ that
//   resurrects it never reaches it), and subtype_dealloc's walk to the base dealloc is untouched;
// - tp_alloc is called with the concrete class by object.__new__, by every built-in base's
//   __new__ (dict, list, int, str, tuple, exceptions), by copy and pickle, and 3.13's specializer
//   refuses CALL_ALLOC_AND_ENTER_INIT (which allocates without tp_alloc) for a class whose
//   tp_alloc is not PyType_GenericAlloc.
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "core/heap/heap_compat.h"

namespace memhound::objects {

// A group is what the user tracks under one name: a class (with its subclasses) or a name given
// to track_object. Group ids are never reused.
using GroupId = std::uint32_t;
inline constexpr GroupId kNoGroup = 0xFFFFFFFFu;

// What the logging callback is told.
enum class EventKind : std::uint8_t { Created = 0, Destroyed = 1 };

// How a recorded life ended.
enum class EndKind : std::uint8_t {
    Destroyed = 0,
    // Ended unseen: its address was reused by a new tracked instance without its tp_free being
    // called (a C base's deallocator that frees the memory itself); the end time is when found.
    Lost = 1,
    Alive = 2,
};

struct GroupCounts {
    std::uint64_t created = 0;
    std::uint64_t destroyed = 0;
    std::uint64_t live = 0;
    std::uint64_t peak = 0;
};

// One instance's life as Python gets it: (start seconds, end seconds or -1.0, end kind, adopted,
// group, address, size, stack id). Adopted: tracked from track_object on, not from its creation.
using LifeRow = std::tuple<double, double, int, bool, GroupId, std::uintptr_t, std::uint32_t, std::uint32_t>;
// One live instance in a snapshot: (group, address, size now, created at (seconds), stack id).
using InstanceRow = std::tuple<GroupId, std::uintptr_t, std::uint64_t, double, std::uint32_t>;
// A frame of a recorded stack: (file name, line, function name).
using FrameRow = std::tuple<std::string, int, std::string>;

// Per group: (group, live instances, their total size).
using GroupRow = std::tuple<GroupId, std::uint64_t, std::uint64_t>;

struct SnapshotResult {
    std::vector<GroupRow> groups;
    std::vector<InstanceRow> instances;  // the live instances of the asked groups that record stacks
    // Instances not found in the collector's lists (or not looked for, during a collection):
    // counted with the size recorded at their creation, not read.
    std::uint64_t unverified = 0;
};

// Group management and queries, for the bindings. All of them need the GIL.
GroupId addGroup(bool trace);
void setLogging(GroupId group, bool enabled);
// callback(kind, group, address, size, lifetime seconds or -1.0), called for the creation and
// destruction of instances of groups with logging on; never receives the object itself.
void setEventCallback(PyObject* callback);

// Hooks the class (a heap type) for group (the caller hooks its subclasses the same way); throws
// common::Error when the class is tracked by another group already.
void trackClass(PyTypeObject* type, GroupId group);
// Starts tracking one existing object (an instance of a heap type) under group; false when it is
// tracked already.
bool trackObject(PyObject* obj, GroupId group);
// Stops tracking the group: restores the slots it hooked and forgets its live instances.
void detachGroup(GroupId group);
// Forgets the groups' recorded lives (the Python tracker was dropped).
void forgetGroups(const std::vector<GroupId>& groups);
// The group a class is tracked by, or kNoGroup.
GroupId groupOfClass(PyTypeObject* type);

GroupCounts countsOf(GroupId group);
// Every recorded life of the given groups: the ended ones in the order they ended, then the live.
std::vector<LifeRow> livesOf(const std::vector<GroupId>& groups);
// Checks every live instance of the groups against the collector's lists and sizes those found
// there as memhound.asizesof does, in creation order (shared data counted in the first).
SnapshotResult snapshotGroups(const std::vector<GroupId>& groups);
struct LiveEntry {
    GroupId group;
    double created;
    std::uint32_t size;
    std::uint32_t stack;
    bool adopted;
};
// The live instances of the groups found in the collector's lists (borrowed: the caller takes
// references before any Python code runs). Empty while the collector runs.
std::vector<PyObject*> liveObjects(const std::vector<GroupId>& groups);
// The live entry of an address, when tracked.
bool liveEntry(std::uintptr_t address, LiveEntry* entry);
// The frames of a recorded stack, innermost first.
std::vector<FrameRow> stackFrames(std::uint32_t stack);
double nowSeconds();
// The resolution of the events' times, in seconds.
double clockResolution();

}  // namespace memhound::objects
