#include "core/heap/labels.h"

#include <structmember.h>

#include "core/heap/type_table.h"

namespace memhound::heap {

namespace {

constexpr std::size_t kMaxLabel = 60;

bool isAtom(PyObject* obj) {
    return PyUnicode_CheckExact(obj) || PyLong_CheckExact(obj) || PyFloat_CheckExact(obj) ||
           PyBytes_CheckExact(obj) || PyBool_Check(obj) || obj == Py_None;
}

std::string clipped(std::string text) {
    if (text.size() > kMaxLabel) text = text.substr(0, kMaxLabel - 3) + "...";
    return text;
}

std::string reprOf(PyObject* obj) {
    PyObject* repr = PyObject_Repr(obj);
    if (repr == nullptr) {
        PyErr_Clear();
        return "?";
    }
    std::string text = utf8Of(repr);
    Py_DECREF(repr);
    return clipped(std::move(text));
}

bool isInstanceDictOf(PyObject* owner, PyObject* dict) {
    PyTypeObject* type = Py_TYPE(owner);
    if (compat::hasManagedDict(type)) return compat::managedDict(owner) == dict;
    PyObject** slot = compat::dictSlot(owner);
    return slot != nullptr && *slot == dict;
}

std::string qualnameOf(PyObject* function) {
    return utf8Of(reinterpret_cast<PyFunctionObject*>(function)->func_qualname);
}

// Which named container of `owner` `container` is, if any: a connector the path skips over.
bool isConnector(PyObject* owner, PyObject* container) {
    if (PyModule_Check(owner)) return PyModule_GetDict(owner) == container;
    if (PyType_Check(owner) && reinterpret_cast<PyTypeObject*>(owner)->tp_dict == container) return true;
    if (PyFunction_Check(owner)) {
        auto* f = reinterpret_cast<PyFunctionObject*>(owner);
        if (container == f->func_closure || container == f->func_defaults ||
            container == f->func_kwdefaults || container == f->func_dict) {
            return true;
        }
    }
    if (std::string(Py_TYPE(owner)->tp_name) == "_thread._local" && PyDict_Check(container)) return true;
    return isInstanceDictOf(owner, container);
}

// The kind of a dict entry, given the object whose connector the dict is.
EdgeKind dictEntryKind(PyObject* before, PyObject* dict) {
    if (before == nullptr || !isConnector(before, dict)) return EdgeKind::DictKey;
    if (PyModule_Check(before)) return EdgeKind::ModuleGlobal;
    if (PyType_Check(before) && reinterpret_cast<PyTypeObject*>(before)->tp_dict == dict)
        return EdgeKind::ClassDict;
    if (PyFunction_Check(before) && reinterpret_cast<PyFunctionObject*>(before)->func_kwdefaults == dict) {
        return EdgeKind::KwDefault;
    }
    if (std::string(Py_TYPE(before)->tp_name) == "_thread._local") return EdgeKind::Tls;
    return EdgeKind::Attribute;
}

bool labelDict(PyObject* before, PyObject* dict, PyObject* to, EdgeLabel& label) {
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        if (value != to && key != to) continue;
        if (key == to) {
            label = {EdgeKind::Other, "<key " + shortRepr(key) + ">", ""};
            return true;
        }
        label.kind = dictEntryKind(before, dict);
        bool named = label.kind != EdgeKind::DictKey && PyUnicode_Check(key);
        label.text = label.kind == EdgeKind::Tls ? "thread storage" : named ? utf8Of(key) : shortRepr(key);
        if (label.kind == EdgeKind::KwDefault) label.owner = qualnameOf(before);
        return true;
    }
    return false;
}

// Name of the i-th closure cell or default of a function.
EdgeLabel functionItemLabel(PyObject* function, PyObject* tuple, Py_ssize_t i) {
    auto* f = reinterpret_cast<PyFunctionObject*>(function);
    auto* code = reinterpret_cast<PyCodeObject*>(f->func_code);
    if (tuple == f->func_closure) {
        int name = code->co_nlocalsplus - code->co_nfreevars + static_cast<int>(i);
        return {EdgeKind::ClosureCell, utf8Of(compat::localName(code, name)), qualnameOf(function)};
    }
    Py_ssize_t first = code->co_argcount - PyTuple_GET_SIZE(tuple);
    std::string name =
        first + i >= 0 ? utf8Of(compat::localName(code, static_cast<int>(first + i))) : std::to_string(i);
    return {EdgeKind::Default, name, qualnameOf(function)};
}

bool labelSequence(PyObject* before, PyObject* seq, PyObject* to, EdgeLabel& label) {
    Py_ssize_t size = PySequence_Fast_GET_SIZE(seq);
    PyObject** items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < size; ++i) {
        if (items[i] != to) continue;
        if (before && PyFunction_Check(before) && isConnector(before, seq)) {
            label = functionItemLabel(before, seq, i);
        } else {
            label = {EdgeKind::Index, std::to_string(i), ""};
        }
        return true;
    }
    return false;
}

bool labelSet(PyObject* set, PyObject* to, EdgeLabel& label) {
    Py_ssize_t pos = 0;
    PyObject* key;
    Py_hash_t hash;
    while (_PySet_NextEntry(set, &pos, &key, &hash)) {
        if (key == to) {
            label = {EdgeKind::SetMember, shortRepr(key), ""};
            return true;
        }
    }
    return false;
}

bool labelFrameLocals(compat::Frame* frame, PyObject* to, EdgeKind kind, EdgeLabel& label) {
    PyCodeObject* code = compat::frameCode(frame);
    for (int i = 0; i < compat::frameLocalCount(frame); ++i) {
        if (compat::frameLocal(frame, i) == to) {
            label = {kind, utf8Of(compat::localName(code, i)), utf8Of(code->co_qualname)};
            return true;
        }
    }
    return false;
}

bool labelInlineValues(PyObject* obj, PyObject* to, EdgeLabel& label) {
    PyTypeObject* type = Py_TYPE(obj);
    if (!compat::hasManagedDict(type)) return false;
    PyDictValues* values = compat::managedValues(obj);
    PyDictKeysObject* keys = compat::sharedKeys(type);
    if (values == nullptr || keys == nullptr) return false;
    for (Py_ssize_t i = 0; i < compat::sharedKeyCount(keys); ++i) {
        if (values->values[i] == to) {
            label = {EdgeKind::Attribute, utf8Of(compat::sharedKey(keys, i)), ""};
            return true;
        }
    }
    return false;
}

// Object members declared by the type or its bases (__slots__, C struct members).
bool labelMembers(PyObject* obj, PyObject* to, EdgeLabel& label) {
    for (PyTypeObject* type = Py_TYPE(obj); type != nullptr; type = type->tp_base) {
        for (PyMemberDef* m = type->tp_members; m && m->name; ++m) {
            if (m->type != T_OBJECT && m->type != T_OBJECT_EX) continue;
            if (*reinterpret_cast<PyObject**>(reinterpret_cast<char*>(obj) + m->offset) != to) continue;
            bool slot = (type->tp_flags & Py_TPFLAGS_HEAPTYPE) != 0;
            label = {slot ? EdgeKind::Slot : EdgeKind::Other, m->name, ""};
            return true;
        }
    }
    return false;
}

bool labelFunction(PyObject* obj, PyObject* to, EdgeLabel& label) {
    auto* f = reinterpret_cast<PyFunctionObject*>(obj);
    const char* name = to == f->func_closure      ? "__closure__"
                       : to == f->func_defaults   ? "__defaults__"
                       : to == f->func_kwdefaults ? "__kwdefaults__"
                       : to == f->func_dict       ? "__dict__"
                       : to == f->func_globals    ? "__globals__"
                       : to == f->func_code       ? "__code__"
                                                  : nullptr;
    if (name == nullptr) return false;
    label = {isConnector(obj, to) ? EdgeKind::Connector : EdgeKind::Other, name, qualnameOf(obj)};
    return true;
}

bool labelException(PyObject* obj, PyObject* to, EdgeLabel& label) {
    auto* e = reinterpret_cast<PyBaseExceptionObject*>(obj);
    if (to == e->traceback)
        label = {EdgeKind::Traceback, "__traceback__", ""};
    else if (to == e->context)
        label = {EdgeKind::Other, "__context__", ""};
    else if (to == e->cause)
        label = {EdgeKind::Other, "__cause__", ""};
    else if (to == e->args)
        label = {EdgeKind::Other, "args", ""};
    else
        return false;
    return true;
}

bool labelByType(PyObject* before, PyObject* from, PyObject* to, EdgeLabel& label) {
    if (PyDict_Check(from)) return labelDict(before, from, to, label);
    if (PyList_Check(from) || PyTuple_Check(from)) return labelSequence(before, from, to, label);
    if (PyAnySet_Check(from)) return labelSet(from, to, label);
    if (PyFunction_Check(from)) return labelFunction(from, to, label);
    if (PyCell_Check(from) && PyCell_GET(from) == to) {
        label = {EdgeKind::CellContents, "cell_contents", ""};
        return true;
    }
    if (PyMethod_Check(from)) {
        if (PyMethod_GET_SELF(from) == to)
            label = {EdgeKind::BoundSelf, "__self__", ""};
        else if (PyMethod_GET_FUNCTION(from) == to)
            label = {EdgeKind::BoundFunc, "__func__", ""};
        else
            return false;
        return true;
    }
    if (PyFrame_Check(from))
        return labelFrameLocals(compat::frameOfFrameObject(from), to, EdgeKind::Local, label);
    if ((PyGen_Check(from) || PyCoro_CheckExact(from) || PyAsyncGen_CheckExact(from)) &&
        compat::generatorHasFrame(from)) {
        return labelFrameLocals(compat::generatorFrame(from), to, EdgeKind::GenFrame, label);
    }
    if (PyExceptionInstance_Check(from) && labelException(from, to, label)) return true;
    return false;
}

struct Search {
    PyObject* target;
    bool found;
};

int visitSearch(PyObject* child, void* arg) {
    auto* search = static_cast<Search*>(arg);
    if (child == search->target) search->found = true;
    return 0;
}

// True when the collector's view of `from` (tp_traverse) includes `to`.
bool traverses(PyObject* from, PyObject* to) {
    traverseproc traverse = Py_TYPE(from)->tp_traverse;
    if (traverse == nullptr || !compat::isGcObject(from)) return false;
    Search search{to, false};
    traverse(from, visitSearch, &search);
    return search.found;
}

}  // namespace

const char* edgeKindName(EdgeKind kind) {
    static const char* const names[] = {
        "dict_key",      "attribute", "slot",          "index",     "set_member", "closure_cell", "default",
        "kwdefault",     "local",     "class_dict",    "traceback", "bound_self", "bound_func",   "gen_frame",
        "module_global", "tls",       "cell_contents", "other",     "connector",
    };
    return names[static_cast<int>(kind)];
}

std::string shortRepr(PyObject* obj) {
    if (isAtom(obj)) return reprOf(obj);
    if (PyTuple_CheckExact(obj)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(obj); ++i) {
            if (!isAtom(PyTuple_GET_ITEM(obj, i))) return "<tuple>";
        }
        return reprOf(obj);
    }
    return std::string("<") + Py_TYPE(obj)->tp_name + ">";
}

bool labelEdge(PyObject* before, PyObject* from, PyObject* to, EdgeLabel& label) {
    label = {};
    if (labelByType(before, from, to, label)) return true;
    if (PyModule_Check(from) && PyModule_GetDict(from) == to) {
        label = {EdgeKind::Connector, "__dict__", ""};
        return true;
    }
    if (PyType_Check(from) && reinterpret_cast<PyTypeObject*>(from)->tp_dict == to) {
        label = {EdgeKind::Connector, "__dict__", ""};
        return true;
    }
    if (isInstanceDictOf(from, to) ||
        (std::string(Py_TYPE(from)->tp_name) == "_thread._local" && PyDict_Check(to))) {
        label = {EdgeKind::Connector, "__dict__", ""};
        return true;
    }
    if (labelInlineValues(from, to, label) || labelMembers(from, to, label)) return true;
    if (!traverses(from, to)) return false;
    label = {EdgeKind::Other, reinterpret_cast<PyObject*>(Py_TYPE(from)) == to ? "__class__" : "?", ""};
    return true;
}

bool labelEntries(PyObject* before, PyObject* from, const std::function<bool(PyObject*)>& wants,
                  const std::function<void(PyObject*, const EdgeLabel&)>& emit) {
    if (PyDict_Check(from)) {
        EdgeKind kind = dictEntryKind(before, from);
        Py_ssize_t pos = 0;
        PyObject *key, *value;
        while (PyDict_Next(from, &pos, &key, &value)) {
            if (wants(key)) emit(key, {EdgeKind::Other, "<key " + shortRepr(key) + ">", ""});
            if (!wants(value)) continue;
            bool named = kind != EdgeKind::DictKey && PyUnicode_Check(key);
            std::string owner = kind == EdgeKind::KwDefault ? qualnameOf(before) : "";
            emit(value, {kind,
                         kind == EdgeKind::Tls ? "thread storage"
                         : named               ? utf8Of(key)
                                               : shortRepr(key),
                         owner});
        }
        return true;
    }
    if (PyList_Check(from) || PyTuple_Check(from)) {
        bool ofFunction = before && PyFunction_Check(before) && isConnector(before, from);
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(from); ++i) {
            PyObject* item = PySequence_Fast_ITEMS(from)[i];
            if (!wants(item)) continue;
            emit(item, ofFunction ? functionItemLabel(before, from, i)
                                  : EdgeLabel{EdgeKind::Index, std::to_string(i), ""});
        }
        return true;
    }
    if (PyAnySet_Check(from)) {
        Py_ssize_t pos = 0;
        PyObject* key;
        Py_hash_t hash;
        while (_PySet_NextEntry(from, &pos, &key, &hash)) {
            if (wants(key)) emit(key, {EdgeKind::SetMember, shortRepr(key), ""});
        }
        return true;
    }
    return false;
}

}  // namespace memhound::heap
