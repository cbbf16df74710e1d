/* A minimal C extension module, built against an installed interpreter by check-extension.sh. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *spam_add(PyObject *self, PyObject *args) {
    long a, b;
    if (!PyArg_ParseTuple(args, "ll", &a, &b)) {
        return NULL;
    }
    return PyLong_FromLong(a + b);
}

static PyMethodDef spam_methods[] = {
    {"add", spam_add, METH_VARARGS, "Add two integers."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef spam_module = {PyModuleDef_HEAD_INIT, "spam", NULL, -1, spam_methods};

PyMODINIT_FUNC PyInit_spam(void) { return PyModule_Create(&spam_module); }
