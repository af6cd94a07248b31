// memhound._core sizing bindings: asizeof over object graphs. Thin: conversions only.
// clang-format off
#include "core/heap/heap_compat.h"  // first: it sets Py_BUILD_CORE before Python.h
// clang-format on

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include "bindings/bindings.h"
#include "core/heap/sizer.h"

namespace nb = nanobind;

namespace memhound::bindings {

namespace {

using heap::SizedObject;
// One object of an asized tree: parent index (-1 for the root), flat and owned bytes, type name,
// short repr, and the label of the reference from its parent (kind, text, owner).
using TreeRow = std::tuple<std::int64_t, std::uint64_t, std::uint64_t, std::string, std::string, std::string,
                           std::string, std::string>;

heap::SizerOptions optionsOf(std::optional<std::uint32_t> limit, bool code, bool structure, std::uint32_t align) {
    heap::SizerOptions options;
    options.limit = limit;
    options.code = code;
    options.structure = structure;
    options.align = align;
    return options;
}

std::vector<std::uint64_t> asizesof(nb::list objs, std::optional<std::uint32_t> limit, bool code, bool structure,
                                    std::uint32_t align) {
    heap::ObjectSizer sizer(optionsOf(limit, code, structure, align));
    std::vector<std::uint64_t> sizes;
    for (nb::handle obj : objs) sizes.push_back(sizer.add(obj.ptr()));
    return sizes;
}

std::vector<TreeRow> asizedRows(nb::handle root, std::uint32_t detail, std::optional<std::uint32_t> limit, bool code,
                                bool structure, std::uint32_t align) {
    heap::SizerOptions options = optionsOf(limit, code, structure, align);
    options.holdLevel = detail;
    options.tree = true;
    heap::ObjectSizer sizer(options);
    sizer.add(root.ptr());
    std::vector<std::uint64_t> owned = sizer.ownedSizes();
    const std::vector<SizedObject>& objects = sizer.objects();
    heap::TypeTable types;
    std::vector<TreeRow> rows;
    for (std::uint32_t i = 0; i < objects.size(); ++i) {
        const SizedObject& sized = objects[i];
        if (sized.level > detail) continue;
        heap::EdgeLabel label = sizer.labelOf(i);
        std::int64_t parent = sized.parent == SizedObject::kNoParent ? std::int64_t{-1} : std::int64_t{sized.parent};
        rows.emplace_back(parent, sized.flat, owned[i], types.nameOf(types.infoOf(Py_TYPE(sized.obj)).id),
                          heap::shortRepr(sized.obj), heap::edgeKindName(label.kind), label.text, label.owner);
    }
    return rows;
}

}  // namespace

void bindSizes(nb::module_& m) {
    m.def("asizesof", &asizesof, nb::arg("objs"), nb::arg("limit").none(), nb::arg("code"), nb::arg("structure"),
          nb::arg("align"));
    m.def("asized_rows", &asizedRows, nb::arg("root"), nb::arg("detail"), nb::arg("limit").none(), nb::arg("code"),
          nb::arg("structure"), nb::arg("align"));
}

}  // namespace memhound::bindings
