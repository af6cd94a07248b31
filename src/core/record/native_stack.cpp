#include "core/record/compat.h"

#include "core/record/native_stack.h"

#include <unwind.h>

#include "core/common/hash.h"
#include "core/format/records.h"
#include "core/record/hooks.h"
#include "core/record/intern_table.h"
#include "core/record/loaded_objects.h"
#include "core/record/session.h"
#include "core/record/stack_capture.h"

namespace memhound::record {
namespace {

// Written at start under the GIL, before any hook records a native stack; read by the walks.
AddressSpan g_own;
AddressSpan g_interpreter;

struct NativeKey {
    std::uint32_t parent = 0;
    std::uint64_t address = 0;
    bool operator==(const NativeKey&) const = default;
};

struct NativeKeyHash {
    std::size_t operator()(const NativeKey& key) const {
        return common::mix64(key.address * 0x9E3779B97F4A7C15ull ^ key.parent);
    }
};

// One thread's native frames: (parent, return address) -> id, for the session generation it was
// filled in, and the records not yet handed to a batch. The owning thread's alone.
struct NativeTable {
    InternTable<NativeKey, NativeKeyHash> nodes;
    InternTable<NodeKey, NodeKeyHash> pythonNodes;  // stackNodeWithoutGil's
    std::uint64_t generation = 0;
    std::string pending;
};

// Deleted at thread exit; a hook running later in the exiting thread records no native frames.
struct NativeTableOwner {
    NativeTable* table = nullptr;
    bool gone = false;
    ~NativeTableOwner() {
        delete table;
        table = nullptr;
        gone = true;
    }
};
thread_local NativeTableOwner t_native;

NativeTable* tableOfThread() {
    NativeTableOwner& owner = t_native;
    if (owner.gone) return nullptr;
    if (owner.table == nullptr) owner.table = new NativeTable;
    if (owner.table->generation != Session::generation()) {
        owner.table->nodes.clear();
        owner.table->pythonNodes.clear();
        owner.table->pending.clear();
        owner.table->generation = Session::generation();
    }
    return owner.table;
}

struct Walk {
    std::uint64_t addresses[kMaxNativeFrames];
    std::size_t count = 0;
    int interpreterFramesOnTop = 0;
    bool started = false;
};

// PyMem_RawMalloc and the functions it goes through before our hook.
constexpr int kInterpreterFramesOnTop = 2;

_Unwind_Reason_Code visitFrame(_Unwind_Context* context, void* data) {
    auto& walk = *static_cast<Walk*>(data);
    const auto ip = static_cast<std::uintptr_t>(_Unwind_GetIP(context));
    if (ip == 0) return _URC_END_OF_STACK;
    const bool ours = g_own.holds(ip);
    const bool interpreter = g_interpreter.holds(ip);
    if (!walk.started) {
        if (ours) return _URC_NO_REASON;
        // The interpreter's own raw allocations: no C frame of interest above the Python stack.
        if (interpreter) return ++walk.interpreterFramesOnTop > kInterpreterFramesOnTop ? _URC_END_OF_STACK : _URC_NO_REASON;
        walk.started = true;
    } else if (interpreter || ours) {
        return _URC_END_OF_STACK;
    }
    walk.addresses[walk.count++] = ip;
    return walk.count == kMaxNativeFrames ? _URC_END_OF_STACK : _URC_NO_REASON;
}

}  // namespace

void prepareNativeStacks() {
    g_own = objectSpanOf(reinterpret_cast<const void*>(&prepareNativeStacks));
    g_interpreter = objectSpanOf(reinterpret_cast<const void*>(&PyMem_Malloc));
    RecorderGuard guard;
    Walk walk;
    _Unwind_Backtrace(&visitFrame, &walk);
}

common::StackId nativeStackOn(common::StackId python) {
    Walk walk;
    _Unwind_Backtrace(&visitFrame, &walk);
    if (walk.count == 0) return python;
    NativeTable* table = tableOfThread();
    if (table == nullptr) return python;
    common::StackId parent = python;
    for (std::size_t i = walk.count; i-- > 0;) {  // outermost first: each frame's parent is its caller
        const NativeKey key{parent.value, walk.addresses[i]};
        std::uint32_t id = table->nodes.find(key);
        if (id == 0) {
            id = takeStackNodeId();
            table->nodes.insert(key, id);
            format::encodeNativeFrame(table->pending, {common::StackId{id}, parent, walk.addresses[i]});
        }
        parent = common::StackId{id};
    }
    return parent;
}

common::StackId stackNodeWithoutGil(common::StackId parent, common::CodeId code, int offset) {
    NativeTable* table = tableOfThread();
    if (table == nullptr) return common::StackId{0};
    const NodeKey key{parent.value, code.value, offset};
    std::uint32_t id = table->pythonNodes.find(key);
    if (id == 0) {
        id = takeStackNodeId();
        table->pythonNodes.insert(key, id);
        format::encodeStackNode(table->pending, {common::StackId{id}, parent, code, offset});
    }
    return common::StackId{id};
}

void takeNativeDefinitions(std::string& out) {
    NativeTable* table = t_native.table;
    if (table == nullptr || table->pending.empty()) return;
    out += table->pending;
    table->pending.clear();
}

bool hasNativeDefinitions() {
    const NativeTable* table = t_native.table;
    return table != nullptr && !table->pending.empty();
}

}  // namespace memhound::record
