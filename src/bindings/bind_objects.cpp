// memhound._core.objects: the class tracker's hooks and queries. Thin: conversions only.
// clang-format off
#include "core/heap/heap_compat.h"  // first: it sets Py_BUILD_CORE before Python.h
// clang-format on

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "bindings/bindings.h"
#include "core/objects/class_tracker.h"

namespace nb = nanobind;

namespace memhound::bindings {

namespace {

PyTypeObject* typeOf(nb::handle cls) {
    if (!PyType_Check(cls.ptr())) throw nb::type_error("expected a class");
    return reinterpret_cast<PyTypeObject*>(cls.ptr());
}

}  // namespace

void bindObjects(nb::module_& m) {
    nb::module_ o = m.def_submodule("objects", "The class tracker's slot hooks and event buffer");
    o.def("add_group", &objects::addGroup, nb::arg("trace"), "A new tracking group (a class or a name); returns its id.");
    o.def("set_logging", &objects::setLogging, nb::arg("group"), nb::arg("enabled"));
    o.def(
        "set_event_callback", [](nb::object callback) { objects::setEventCallback(callback.is_none() ? nullptr : callback.ptr()); },
        nb::arg("callback").none(), "callback(kind, group, address, size, lifetime) for groups with logging on.");
    o.def(
        "track_class", [](nb::handle cls, objects::GroupId group) { objects::trackClass(typeOf(cls), group); }, nb::arg("cls"),
        nb::arg("group"));
    o.def(
        "track_object", [](nb::handle obj, objects::GroupId group) { return objects::trackObject(obj.ptr(), group); },
        nb::arg("obj"), nb::arg("group"));
    o.def("detach_group", &objects::detachGroup, nb::arg("group"));
    o.def("forget_groups", &objects::forgetGroups, nb::arg("groups"));
    o.def(
        "group_of_class",
        [](nb::handle cls) -> std::optional<objects::GroupId> {
            objects::GroupId group = objects::groupOfClass(typeOf(cls));
            if (group == objects::kNoGroup) return std::nullopt;
            return group;
        },
        nb::arg("cls"));
    o.def(
        "counts",
        [](objects::GroupId group) {
            objects::GroupCounts c = objects::countsOf(group);
            return std::make_tuple(c.created, c.destroyed, c.live, c.peak);
        },
        nb::arg("group"), "(created, destroyed, live, peak live) of the group.");
    o.def("lives", &objects::livesOf, nb::arg("groups"),
          "((start, end or -1.0, end kind, adopted, group, address, size, stack), ...): ended lives, then live ones.");
    o.def(
        "snapshot",
        [](const std::vector<objects::GroupId>& groups) {
            objects::SnapshotResult r = objects::snapshotGroups(groups);
            return std::make_tuple(std::move(r.groups), std::move(r.instances), r.unverified);
        },
        nb::arg("groups"), "((group, live, total size), ...), traced instances, count not verified.");
    o.def(
        "live_entry",
        [](std::uintptr_t address) -> nb::object {
            objects::LiveEntry e;
            if (!objects::liveEntry(address, &e)) return nb::none();
            return nb::make_tuple(e.group, e.created, e.size, e.stack, e.adopted);
        },
        nb::arg("address"), "(group, created, size, stack, adopted) of a tracked live instance, or None.");
    o.def(
        "live_objects",
        [](const std::vector<objects::GroupId>& groups) {
            nb::list out;
            for (PyObject* obj : objects::liveObjects(groups)) out.append(nb::borrow(obj));
            return out;
        },
        nb::arg("groups"), "The live tracked instances of the groups (new references, for the caller).");
    o.def("stack", &objects::stackFrames, nb::arg("stack"), "((file, line, function), ...) innermost first.");
    o.def("now", &objects::nowSeconds, "time.monotonic() as the tracker's events give it.");
    o.def("clock_resolution", &objects::clockResolution, "The resolution of the events' times, in seconds.");
}

}  // namespace memhound::bindings
