// clang-format off
#include "core/heap/heap_compat.h"  // first: it sets Py_BUILD_CORE before Python.h
// clang-format on

#include "core/objects/class_tracker.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "core/common/error.h"
#include "core/heap/sizer.h"
#include "core/objects/address_table.h"
#include "core/objects/lifetime_log.h"
#include "core/objects/tick_clock.h"
#include "core/record/py_text.h"

namespace memhound::objects {

namespace {

namespace compat = heap::compat;
namespace rcompat = record::compat;

// A type whose slots the tracker changed (or that inherited the changed slots from one).
struct HookedType {
    allocfunc alloc = nullptr;  // the original tp_alloc and tp_free, called by the hooks
    freefunc free = nullptr;
    GroupId allocGroup = kNoGroup;  // the group its creations count for
    bool owned = false;             // the hooks are in its slots and the tracker holds a reference
    std::uint64_t live = 0;         // live table entries of this type
};

struct LiveValue {
    std::uint64_t tick = 0;
    PyTypeObject* type = nullptr;
    std::uint32_t size = 0;
    std::uint32_t stack = 0;
    GroupId group = kNoGroup;
    bool adopted = false;  // tracked from track_object on
    bool seen = false;     // set by a snapshot's check against the collector's lists
};

struct GroupState {
    bool trace = false;
    bool log = false;
    GroupCounts counts;
};

// A node of the recorded stacks' prefix tree: the frame and the node of its caller.
struct StackNode {
    std::uint32_t parent;
    PyCodeObject* code;
    int offset;
};
struct StackKey {
    std::uint32_t parent;
    PyCodeObject* code;
    int offset;
    bool operator==(const StackKey&) const = default;
};
struct StackKeyHash {
    std::size_t operator()(const StackKey& k) const {
        std::uint64_t h = reinterpret_cast<std::uintptr_t>(k.code) * 0x9E3779B97F4A7C15ull;
        return static_cast<std::size_t>(h ^ (static_cast<std::uint64_t>(k.parent) << 20) ^ static_cast<std::uint32_t>(k.offset));
    }
};

constexpr int kMaxStackDepth = 128;
constexpr std::size_t kCacheSize = 64;

// The tracker's whole state, shared by every ClassTracker of the process; touched only under the
// GIL (by the hooks and by the bindings). Never destroyed: a hook may run during finalization.
struct State {
    // type -> its original slots and group; entries of types the tracker still references.
    std::unordered_map<PyTypeObject*, HookedType> types;
    // address -> live tracked instance
    AddressTable<LiveValue> live;
    // every ended life, in the order they ended
    LifetimeLog ended;
    std::vector<GroupState> groups;
    std::vector<StackNode> stacks{StackNode{0, nullptr, 0}};  // node 0: no stack
    std::unordered_map<StackKey, std::uint32_t, StackKeyHash> stackIds;
    PyObject* callback = nullptr;
    // A direct-mapped cache in front of `types`: the hooks see a handful of types.
    struct CacheEntry {
        PyTypeObject* type = nullptr;
        HookedType* hooked = nullptr;
    };
    CacheEntry cache[kCacheSize];

    void clearCache() { std::fill(std::begin(cache), std::end(cache), CacheEntry{}); }
};

State* g_state = nullptr;
constinit thread_local bool t_inCallback = false;

State& state() {
    if (g_state == nullptr) {
        g_state = new State();
    }
    return *g_state;
}

PyObject* allocHook(PyTypeObject* type, Py_ssize_t nitems);
void freeHook(void* memory);

HookedType* hookedOfSlow(State& s, PyTypeObject* type, State::CacheEntry& cached) {
    auto it = s.types.find(type);
    HookedType* hooked = nullptr;
    if (it != s.types.end()) {
        hooked = &it->second;
    } else {
        // A type that inherited the hooks from a tracked base without being hooked itself (a
        // class made from a C type spec): it takes its nearest hooked base's slots and group.
        PyTypeObject* base = type->tp_base;
        while (base != nullptr && s.types.find(base) == s.types.end()) base = base->tp_base;
        if (base == nullptr) return nullptr;
        HookedType copy = s.types[base];
        copy.owned = false;
        copy.live = 0;
        hooked = &(s.types[type] = copy);
    }
    cached = {type, hooked};
    return hooked;
}

inline HookedType* hookedOf(State& s, PyTypeObject* type) {
    State::CacheEntry& cached = s.cache[(reinterpret_cast<std::uintptr_t>(type) >> 4) % kCacheSize];
    if (cached.type == type) return cached.hooked;
    return hookedOfSlow(s, type, cached);
}

// The memory the allocator gave the instance: header, items and preheader.
std::uint32_t allocatedSize(PyTypeObject* type, Py_ssize_t nitems) {
    std::uint64_t size = static_cast<std::uint64_t>(type->tp_basicsize) +
                         static_cast<std::uint64_t>(nitems < 0 ? 0 : nitems) * static_cast<std::uint64_t>(type->tp_itemsize) +
                         compat::preheaderSize(type);
#if PY_VERSION_HEX >= 0x030D0000
    if (PyType_HasFeature(type, Py_TPFLAGS_INLINE_VALUES)) size += _PyInlineValuesSize(type);
#endif
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(size, 0xFFFFFFFFu));
}

std::uint32_t internFrame(State& s, std::uint32_t parent, PyCodeObject* code, int offset) {
    auto [it, added] = s.stackIds.try_emplace(StackKey{parent, code, offset}, 0);
    if (added) {
        Py_INCREF(code);  // resolved to file and line when read, possibly after the code is gone
        it->second = static_cast<std::uint32_t>(s.stacks.size());
        s.stacks.push_back({parent, code, offset});
    }
    return it->second;
}

// The calling thread's Python stack as a node of the prefix tree (0 without a thread state).
std::uint32_t captureStack(State& s) {
    PyThreadState* tstate = rcompat::gilHolder();
    if (tstate == nullptr) return 0;
    rcompat::Frame* frames[kMaxStackDepth];
    int depth = 0;
    for (rcompat::Frame* f = rcompat::topFrame(tstate); f != nullptr && depth < kMaxStackDepth; f = rcompat::callerFrame(f)) {
        frames[depth++] = f;
    }
    std::uint32_t node = 0;
    for (int i = depth - 1; i >= 0; --i) {
        node = internFrame(s, node, rcompat::frameCode(frames[i]), rcompat::instructionOffset(frames[i]));
    }
    return node;
}

// Calls the logging callback with plain numbers. The object (being created, or dying) is never
// passed; while Python code runs it is kept out of the collector's lists (a half-built dict
// subclass must not be traversed, nor a dying object with a zero count found), and the
// exception being raised or handled around the slot call is kept as it was.
void notify(State& s, EventKind kind, GroupId group, PyObject* obj, std::uint32_t size, double lifetime, bool retrack) {
    PyObject* callback = s.callback;
    if (callback == nullptr || t_inCallback) return;
    t_inCallback = true;
    bool untracked = false;
    if (compat::isGcObject(obj) && compat::isTracked(obj)) {
        PyObject_GC_UnTrack(obj);
        untracked = true;
    }
    Py_INCREF(callback);
#if PY_VERSION_HEX >= 0x030C0000
    PyObject* raised = PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
#endif
    PyObject* result = PyObject_CallFunction(callback, "iIKId", static_cast<int>(kind), group,
                                             static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(obj)), size, lifetime);
    if (result == nullptr) {
        PyErr_Clear();
    } else {
        Py_DECREF(result);
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(raised);
#else
    PyErr_Restore(type, value, traceback);
#endif
    Py_DECREF(callback);
    if (untracked && retrack) PyObject_GC_Track(obj);
    t_inCallback = false;
}

// `hooked` is the entry of v.type when the caller has it (else it is looked up).
void recordEnd(State& s, std::uintptr_t address, const LiveValue& v, bool lost, std::uint64_t tick, HookedType* hooked) {
    s.ended.push(Lifetime{v.tick, tick, address, v.size, v.stack, v.group, v.adopted, lost});
    GroupCounts& counts = s.groups[v.group].counts;
    ++counts.destroyed;
    --counts.live;
    if (hooked == nullptr) {
        auto it = s.types.find(v.type);
        hooked = it != s.types.end() ? &it->second : nullptr;
    }
    if (hooked != nullptr && hooked->live > 0) --hooked->live;
}

void onCreated(State& s, PyObject* obj, PyTypeObject* type, Py_ssize_t nitems, HookedType& hooked) {
    GroupId group = hooked.allocGroup;
    GroupState& g = s.groups[group];
    std::uint64_t tick = readTick();
    std::uint32_t size = allocatedSize(type, nitems);
    std::uint32_t stack = g.trace ? captureStack(s) : 0;
    if (g.log) notify(s, EventKind::Created, group, obj, size, -1.0, true);
    auto address = reinterpret_cast<std::uintptr_t>(obj);
    bool existed = false;
    LiveValue* v = s.live.slotFor(address, &existed);
    // The address held a tracked instance whose tp_free never came: it ended unseen.
    if (existed) [[unlikely]]
        recordEnd(s, address, *v, true, tick, nullptr);
    v->tick = tick;
    v->type = type;
    v->size = size;
    v->stack = stack;
    v->group = group;
    v->adopted = false;
    v->seen = false;
    ++hooked.live;
    GroupCounts& counts = s.groups[group].counts;
    ++counts.created;
    counts.peak = std::max(counts.peak, ++counts.live);
}

PyObject* allocHook(PyTypeObject* type, Py_ssize_t nitems) {
    State& s = *g_state;
    HookedType* hooked = hookedOf(s, type);
    if (hooked == nullptr) return PyType_GenericAlloc(type, nitems);  // not reached: hooked types are known
    PyObject* obj = hooked->alloc(type, nitems);
    if (obj != nullptr && hooked->allocGroup != kNoGroup) onCreated(s, obj, type, nitems, *hooked);
    return obj;
}

void freeHook(void* memory) {
    State& s = *g_state;
    auto* obj = static_cast<PyObject*>(memory);
    PyTypeObject* type = Py_TYPE(obj);
    HookedType* hooked = hookedOf(s, type);
    freefunc original = hooked != nullptr ? hooked->free : (PyType_IS_GC(type) ? PyObject_GC_Del : PyObject_Free);
    s.live.eraseWith(reinterpret_cast<std::uintptr_t>(obj), [&](const LiveValue& v) {
        std::uint64_t tick = readTick();
        recordEnd(s, reinterpret_cast<std::uintptr_t>(obj), v, false, tick, v.type == type ? hooked : nullptr);
        if (s.groups[v.group].log) [[unlikely]] {
            notify(s, EventKind::Destroyed, v.group, obj, v.size, secondsOfTick(tick) - secondsOfTick(v.tick), false);
        }
    });
    original(memory);
}

// Puts the hooks into the type's slots (once), keeping a reference to the type meanwhile.
HookedType& hookType(State& s, PyTypeObject* type) {
    HookedType& hooked = s.types[type];
    if (!hooked.owned) {
        // A slot that holds a hook already was inherited from a hooked base: the original is the base's.
        HookedType* inherited = nullptr;
        if (type->tp_alloc == allocHook || type->tp_free == freeHook) {
            for (PyTypeObject* base = type->tp_base; base != nullptr && inherited == nullptr; base = base->tp_base) {
                auto it = s.types.find(base);
                if (it != s.types.end()) inherited = &it->second;
            }
        }
        hooked.alloc = type->tp_alloc == allocHook ? (inherited ? inherited->alloc : PyType_GenericAlloc) : type->tp_alloc;
        hooked.free = type->tp_free == freeHook ? (inherited ? inherited->free : PyObject_GC_Del) : type->tp_free;
        hooked.owned = true;
        Py_INCREF(type);
        type->tp_free = freeHook;
        PyType_Modified(type);
    }
    s.clearCache();
    return hooked;
}

void restoreType(PyTypeObject* type, HookedType& hooked) {
    type->tp_alloc = hooked.alloc;
    type->tp_free = hooked.free;
    hooked.owned = false;
    PyType_Modified(type);
}

}  // namespace

GroupId addGroup(bool trace) {
    State& s = state();
    s.groups.push_back(GroupState{trace, false, {}});
    return static_cast<GroupId>(s.groups.size() - 1);
}

void setLogging(GroupId group, bool enabled) {
    State& s = state();
    if (group >= s.groups.size()) throw common::Error("unknown tracker group");
    s.groups[group].log = enabled;
}

void setEventCallback(PyObject* callback) {
    State& s = state();
    Py_XINCREF(callback);
    PyObject* old = s.callback;
    s.callback = callback;
    Py_XDECREF(old);
}

GroupId groupOfClass(PyTypeObject* type) {
    State& s = state();
    auto it = s.types.find(type);
    return it != s.types.end() && it->second.owned ? it->second.allocGroup : kNoGroup;
}

void trackClass(PyTypeObject* type, GroupId group) {
    State& s = state();
    if (group >= s.groups.size()) throw common::Error("unknown tracker group");
    if (!PyType_HasFeature(type, Py_TPFLAGS_HEAPTYPE)) throw common::Error("only heap types can be tracked");
    auto it = s.types.find(type);
    if (it != s.types.end() && it->second.owned && it->second.allocGroup != kNoGroup && it->second.allocGroup != group) {
        throw common::Error("the class is tracked by another ClassTracker");
    }
    HookedType& hooked = hookType(s, type);
    hooked.allocGroup = group;
    type->tp_alloc = allocHook;
    // Specialized calls guarded by the old version tag (3.13's CALL_ALLOC_AND_ENTER_INIT) deopt.
    PyType_Modified(type);
}

bool trackObject(PyObject* obj, GroupId group) {
    State& s = state();
    if (group >= s.groups.size()) throw common::Error("unknown tracker group");
    PyTypeObject* type = Py_TYPE(obj);
    if (!PyType_HasFeature(type, Py_TPFLAGS_HEAPTYPE)) throw common::Error("only instances of heap types can be tracked");
    auto address = reinterpret_cast<std::uintptr_t>(obj);
    if (s.live.find(address) != nullptr) return false;
    HookedType& hooked = hookType(s, type);
    std::uint64_t tick = readTick();
    Py_ssize_t items = type->tp_itemsize > 0 ? Py_SIZE(obj) : 0;
    std::uint32_t size = allocatedSize(type, items < 0 ? -items : items);
    s.live.insert(address, LiveValue{tick, type, size, 0, group, true, false});
    ++hooked.live;
    GroupCounts& counts = s.groups[group].counts;
    ++counts.created;
    counts.peak = std::max(counts.peak, ++counts.live);
    return true;
}

void detachGroup(GroupId group) {
    State& s = state();
    if (group >= s.groups.size()) return;
    s.groups[group].log = false;
    s.groups[group].counts.live = 0;
    s.live.eraseIf([&](std::uintptr_t, const LiveValue& v) {
        if (v.group != group) return false;
        auto it = s.types.find(v.type);
        if (it != s.types.end() && it->second.live > 0) --it->second.live;
        return true;
    });
    std::vector<PyTypeObject*> released;
    for (auto& [type, hooked] : s.types) {
        if (hooked.allocGroup == group) hooked.allocGroup = kNoGroup;
        if (hooked.owned && hooked.allocGroup == kNoGroup && hooked.live == 0) {
            restoreType(type, hooked);
            released.push_back(type);
        }
    }
    // Entries of types that inherited the hooks from a released type go with it.
    for (auto it = s.types.begin(); it != s.types.end();) {
        bool drop = !it->second.owned;
        it = drop ? s.types.erase(it) : std::next(it);
    }
    s.clearCache();
    for (PyTypeObject* type : released) Py_DECREF(type);  // may free the class: nothing refers to it now
}

void forgetGroups(const std::vector<GroupId>& groups) {
    State& s = state();
    std::unordered_set<GroupId> forget(groups.begin(), groups.end());
    s.ended.eraseIf([&](const Lifetime& r) { return forget.count(r.group) != 0; });
}

GroupCounts countsOf(GroupId group) {
    State& s = state();
    if (group >= s.groups.size()) throw common::Error("unknown tracker group");
    return s.groups[group].counts;
}

std::vector<LifeRow> livesOf(const std::vector<GroupId>& groups) {
    State& s = state();
    std::unordered_set<GroupId> wanted(groups.begin(), groups.end());
    std::vector<LifeRow> rows;
    s.ended.forEach([&](const Lifetime& r) {
        if (wanted.count(r.group) == 0) return;
        int end = static_cast<int>(r.lost ? EndKind::Lost : EndKind::Destroyed);
        rows.emplace_back(secondsOfTick(r.startTick), secondsOfTick(r.endTick), end, r.adopted, r.group, r.address,
                          r.size, r.stack);
    });
    s.live.forEach([&](std::uintptr_t address, const LiveValue& v) {
        if (wanted.count(v.group) == 0) return;
        rows.emplace_back(secondsOfTick(v.tick), -1.0, static_cast<int>(EndKind::Alive), v.adopted, v.group, address,
                          v.size, v.stack);
    });
    return rows;
}

SnapshotResult snapshotGroups(const std::vector<GroupId>& groups) {
    State& s = state();
    // An entry is read only after the collector's lists show an object of a hooked type at its
    // address: an instance freed without its tp_free (a C base's dealloc that frees directly)
    // must not be read.
    PyInterpreterState* interp = PyInterpreterState_Get();
    s.live.forEach([](std::uintptr_t, LiveValue& v) { v.seen = false; });
    if (!compat::gcIsCollecting(interp)) {
        PyTypeObject* lastType = nullptr;
        bool lastTracked = false;
        compat::forEachTracked(interp, [&](PyObject* obj) {
            PyTypeObject* type = Py_TYPE(obj);
            if (type != lastType) {
                auto it = s.types.find(type);
                lastType = type;
                lastTracked = it != s.types.end();
            }
            if (!lastTracked) return;
            // Of any hooked type: __class__ may have moved it between tracked classes.
            LiveValue* v = s.live.find(reinterpret_cast<std::uintptr_t>(obj));
            if (v != nullptr) v->seen = true;
        });
    }
    // The instances in creation order, copied out: sizing may run a __sizeof__ written in Python,
    // which may create or free tracked instances (and so move the table's entries).
    struct Entry {
        std::uint64_t tick;
        PyObject* obj;
        std::uint64_t size;
        std::uint32_t stack;
        GroupId group;
        bool seen;
    };
    std::unordered_map<GroupId, std::pair<std::uint64_t, std::uint64_t>> totals;
    for (GroupId group : groups) totals[group] = {0, 0};
    std::vector<Entry> entries;
    s.live.forEach([&](std::uintptr_t address, const LiveValue& v) {
        if (totals.count(v.group) == 0) return;
        entries.push_back({v.tick, reinterpret_cast<PyObject*>(address), v.size, v.stack, v.group, v.seen});
    });
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return a.tick != b.tick ? a.tick < b.tick : a.obj < b.obj;  // one clock tick holds many: a fixed order
    });
    // Sizes as memhound.asizesof gives them over the live instances in creation order: each
    // instance with what it references, data shared by several counted in the first. The found
    // instances are held meanwhile, and released after: one that died meanwhile is freed then.
    for (const Entry& e : entries) {
        if (e.seen) Py_INCREF(e.obj);
    }
    SnapshotResult result;
    {
        heap::ObjectSizer sizer(heap::SizerOptions{});
        for (Entry& e : entries) {
            if (e.seen) {
                e.size = sizer.add(e.obj);
            } else {
                ++result.unverified;
            }
            auto& total = totals[e.group];
            ++total.first;
            total.second += e.size;
            if (s.groups[e.group].trace) {
                result.instances.emplace_back(e.group, reinterpret_cast<std::uintptr_t>(e.obj), e.size, secondsOfTick(e.tick),
                                              e.stack);
            }
        }
    }
    for (GroupId group : groups) result.groups.emplace_back(group, totals[group].first, totals[group].second);
    for (const Entry& e : entries) {
        if (e.seen) Py_DECREF(e.obj);
    }
    return result;
}

std::vector<PyObject*> liveObjects(const std::vector<GroupId>& groups) {
    State& s = state();
    std::unordered_set<GroupId> wanted(groups.begin(), groups.end());
    std::vector<PyObject*> found;
    PyInterpreterState* interp = PyInterpreterState_Get();
    if (compat::gcIsCollecting(interp)) return found;
    PyTypeObject* lastType = nullptr;
    bool lastTracked = false;
    compat::forEachTracked(interp, [&](PyObject* obj) {
        PyTypeObject* type = Py_TYPE(obj);
        if (type != lastType) {
            lastType = type;
            lastTracked = s.types.find(type) != s.types.end();
        }
        if (!lastTracked) return;
        LiveValue* v = s.live.find(reinterpret_cast<std::uintptr_t>(obj));
        if (v != nullptr && wanted.count(v->group) != 0) found.push_back(obj);
    });
    return found;
}

bool liveEntry(std::uintptr_t address, LiveEntry* entry) {
    State& s = state();
    LiveValue* v = s.live.find(address);
    if (v == nullptr) return false;
    *entry = LiveEntry{v->group, secondsOfTick(v->tick), v->size, v->stack, v->adopted};
    return true;
}

std::vector<FrameRow> stackFrames(std::uint32_t stack) {
    State& s = state();
    std::vector<FrameRow> frames;
    while (stack != 0 && stack < s.stacks.size()) {
        const StackNode& node = s.stacks[stack];
        int line = node.offset >= 0 ? PyCode_Addr2Line(node.code, node.offset * static_cast<int>(sizeof(_Py_CODEUNIT)))
                                    : node.code->co_firstlineno;
        frames.emplace_back(record::utf8Of(node.code->co_filename), line, record::utf8Of(node.code->co_qualname));
        stack = node.parent;
    }
    return frames;
}

double nowSeconds() { return secondsOfTick(readTick()); }
double clockResolution() { return tickResolution(); }

}  // namespace memhound::objects
