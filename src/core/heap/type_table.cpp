#include "core/heap/type_table.h"

#include <algorithm>

namespace memhound::heap {

namespace {

std::uint64_t objectDefaultSize(PyObject* obj) {
    PyTypeObject* type = Py_TYPE(obj);
    std::uint64_t size = static_cast<std::uint64_t>(type->tp_basicsize);
    if (type->tp_itemsize > 0) size += static_cast<std::uint64_t>(Py_SIZE(obj) * type->tp_itemsize);
    return size;
}

// Whether a C __sizeof__ is the interpreter's own: it only reads the object. An extension's may
// run Python code, which the walk must not do while object headers hold node ids.
bool interpreterMethod(PyObject* method) {
    static PyTypeObject* const kOwners[] = {
        &PyBaseObject_Type, &PyType_Type, &PyUnicode_Type,   &PyLong_Type,      &PyList_Type,
        &PyDict_Type,       &PySet_Type,  &PyFrozenSet_Type, &PyByteArray_Type, &PyCode_Type,
        &PyFrame_Type,      &PyGen_Type,  &PyCoro_Type,      &PyAsyncGen_Type,  &PyODict_Type,
    };
    PyTypeObject* owner = PyDescr_TYPE(method);
    return std::find(std::begin(kOwners), std::end(kOwners), owner) != std::end(kOwners);
}

// Which __sizeof__ an instance of `type` would run: the one found on the type's MRO.
SizeRule ruleFor(PyTypeObject* type, PyObject* method, PyCFunction& cfunc) {
    if (type == &PyUnicode_Type) return SizeRule::AsciiStr;
    if (type == &PyLong_Type) return SizeRule::Int;
    if (type == &PyDict_Type) return SizeRule::Dict;
    if (type == &PyList_Type) return SizeRule::List;
    PyObject* objectMethod = _PyType_Lookup(&PyBaseObject_Type, &_Py_ID(__sizeof__));
    if (method == nullptr || method == objectMethod) return SizeRule::ObjectDefault;
    if (Py_IS_TYPE(method, &PyMethodDescr_Type) && interpreterMethod(method)) {
        PyMethodDef* def = reinterpret_cast<PyMethodDescrObject*>(method)->d_method;
        if ((def->ml_flags & (METH_VARARGS | METH_FASTCALL | METH_NOARGS | METH_O | METH_KEYWORDS)) ==
            METH_NOARGS) {
            cfunc = def->ml_meth;
            return SizeRule::CMethod;
        }
    }
    return SizeRule::PythonMethod;
}

std::uint64_t callCMethod(PyObject* obj, PyCFunction method) {
    PyObject* result = method(obj, nullptr);
    Py_ssize_t size = result ? PyLong_AsSsize_t(result) : -1;
    Py_XDECREF(result);
    if (size < 0) {
        PyErr_Clear();
        return objectDefaultSize(obj);
    }
    return static_cast<std::uint64_t>(size);
}

std::uint64_t strSize(PyObject* obj, PyCFunction fallback) {
    std::uint64_t size = compat::compactAsciiSize(obj);
    return size != 0 ? size : callCMethod(obj, fallback);
}

PyObject* bufferBaseDescriptor(PyTypeObject* type) {
    if (type->tp_traverse != nullptr || type->tp_as_buffer == nullptr) return nullptr;
    PyObject* name = PyUnicode_InternFromString("base");
    PyObject* descr = name ? _PyType_Lookup(type, name) : nullptr;
    Py_XDECREF(name);
    PyErr_Clear();
    bool native = descr && (Py_IS_TYPE(descr, &PyGetSetDescr_Type) || Py_IS_TYPE(descr, &PyMemberDescr_Type));
    return native ? descr : nullptr;
}

}  // namespace

const TypeInfo& TypeTable::infoOfUncached(PyTypeObject* type, CacheEntry& cached) {
    auto [it, added] = m_byType.try_emplace(type);
    if (added) it->second = describe(type);
    cached = {type, &it->second};
    return it->second;
}

TypeInfo TypeTable::describe(PyTypeObject* type) {
    TypeInfo info;
    info.type = type;
    info.id = TypeId(static_cast<std::uint32_t>(m_types.size()));
    info.preheader = static_cast<std::uint8_t>(compat::preheaderSize(type));
    PyObject* method = _PyType_Lookup(type, &_Py_ID(__sizeof__));
    info.rule = ruleFor(type, method, info.method);
    auto* asObject = reinterpret_cast<PyObject*>(type);
    if (PyType_IsSubtype(type, &PyType_Type) || PyType_IsSubtype(type, &PyModule_Type)) {
        info.role = Role::Structure;
    } else if (asObject == reinterpret_cast<PyObject*>(&PyCode_Type)) {
        info.role = Role::Code;
    } else if (asObject == reinterpret_cast<PyObject*>(&PyFunction_Type)) {
        info.role = Role::Function;
    }
    info.baseDescriptor = bufferBaseDescriptor(type);
    if (info.rule == SizeRule::AsciiStr) {
        info.method = reinterpret_cast<PyMethodDescrObject*>(method)->d_method->ml_meth;
    }
    m_types.push_back(type);
    return info;
}

std::string TypeTable::nameOf(TypeId id) const { return typeNameOf(m_types[id.value]); }

std::string typeNameOf(PyTypeObject* type) {
    if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE)) return type->tp_name;
    std::string qualname = utf8Of(reinterpret_cast<PyHeapTypeObject*>(type)->ht_qualname);
    PyObject* module = type->tp_dict ? PyDict_GetItemWithError(type->tp_dict, compat::moduleKey()) : nullptr;
    PyErr_Clear();
    if (module == nullptr || !PyUnicode_Check(module)) return qualname;
    std::string moduleName = utf8Of(module);
    return moduleName == "builtins" ? qualname : moduleName + "." + qualname;
}

bool nativeShallowSize(PyObject* obj, const TypeInfo& info, std::uint64_t& size) {
    std::uint64_t body = 0;
    switch (info.rule) {
        case SizeRule::ObjectDefault:
            body = objectDefaultSize(obj);
            break;
        case SizeRule::AsciiStr:
            body = strSize(obj, info.method);
            break;
        case SizeRule::Int:
            body = compat::intSize(obj);
            break;
        case SizeRule::Dict:
            body = static_cast<std::uint64_t>(_PyDict_SizeOf(reinterpret_cast<PyDictObject*>(obj)));
            break;
        case SizeRule::List:
            body = sizeof(PyListObject) +
                   static_cast<std::uint64_t>(reinterpret_cast<PyListObject*>(obj)->allocated) *
                       sizeof(PyObject*);
            break;
        case SizeRule::CMethod:
            body = callCMethod(obj, info.method);
            break;
        case SizeRule::PythonMethod:
            return false;
    }
    size = body + compat::objectPreheader(obj, info.preheader);
    return true;
}

std::uint64_t pythonShallowSize(PyObject* obj, const TypeInfo& info) {
    std::uint64_t size = 0;
    if (nativeShallowSize(obj, info, size)) return size;
    PyObject* method = _PyType_Lookup(info.type, &_Py_ID(__sizeof__));
    Py_ssize_t body = -1;
    if (method != nullptr) {
        Py_INCREF(method);
        Py_INCREF(obj);  // a __sizeof__ written in Python may drop the last other reference
        descrgetfunc get = Py_TYPE(method)->tp_descr_get;
        PyObject* bound = get ? get(method, obj, reinterpret_cast<PyObject*>(info.type)) : Py_NewRef(method);
        PyObject* result = bound ? PyObject_CallNoArgs(bound) : nullptr;
        body = result ? PyLong_AsSsize_t(result) : -1;
        Py_XDECREF(result);
        Py_XDECREF(bound);
        Py_DECREF(obj);
        Py_DECREF(method);
    }
    if (body < 0) {
        PyErr_Clear();
        body = static_cast<Py_ssize_t>(objectDefaultSize(obj));
    }
    return static_cast<std::uint64_t>(body) + compat::objectPreheader(obj, info.preheader);
}

std::string utf8Of(PyObject* str) {
    if (str == nullptr || !PyUnicode_Check(str)) return {};
    if (PyUnicode_IS_ASCII(str)) {
        return {reinterpret_cast<const char*>(PyUnicode_DATA(str)),
                static_cast<std::size_t>(PyUnicode_GET_LENGTH(str))};
    }
    PyObject* bytes = PyUnicode_AsEncodedString(str, "utf-8", "backslashreplace");
    if (bytes == nullptr) {
        PyErr_Clear();
        return "?";
    }
    std::string text(PyBytes_AS_STRING(bytes), static_cast<std::size_t>(PyBytes_GET_SIZE(bytes)));
    Py_DECREF(bytes);
    return text;
}

}  // namespace memhound::heap
