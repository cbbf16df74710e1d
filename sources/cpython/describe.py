"""Describes a built interpreter for the packaging step: run it with that interpreter.

    python describe.py VERSION FLAVOUR CONFIGURE_ARG...  > build-info.json

Records how it was built (flavour, configure arguments, where the source came from) and what
only the interpreter itself can tell (tags, paths, suffixes, modules), from which packaging
writes PYTHON.json. Paths are relative to the install prefix.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import ssl
import sys
import sysconfig

PREFIX = sys.prefix


def relative(path: str) -> str:
    return os.path.relpath(path, PREFIX)


def source() -> dict:
    if os.environ.get("CPYTHON_SOURCE_TREE"):
        return {"pinned": False, "tree_digest": os.environ.get("CPYTHON_SOURCE_TREE_DIGEST")}
    return {"pinned": True, "sha256": os.environ.get("CPYTHON_ARCHIVE_SHA256")}


def shared_extension_modules() -> list:
    dynload = os.path.join(sysconfig.get_paths()["platstdlib"], "lib-dynload")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    return sorted(name[: -len(suffix)] for name in os.listdir(dynload) if name.endswith(suffix))


def test_packages() -> list:
    stdlib = sysconfig.get_paths()["stdlib"]
    candidates = ["test", "idlelib.idle_test", "tkinter.test", "lib2to3.tests"]
    return [name for name in candidates
            if os.path.isdir(os.path.join(stdlib, *name.split(".")))]


def main() -> None:
    version, flavour, *configure_args = sys.argv[1:]
    impl = sys.implementation
    config_dir = os.path.dirname(sysconfig.get_makefile_filename())
    abiflags = sysconfig.get_config_var("ABIFLAGS") or ""
    nodot = sysconfig.get_config_var("py_version_nodot")
    description = {
        "python_version": version,
        "python_major_minor_version": sysconfig.get_python_version(),
        "flavour": flavour,
        "source": source(),
        "configure_args": configure_args,
        # The compiler that built it (its `--version`'s first line), set by build.sh: the
        # configuration's CC is what extension modules build with on the user's machine.
        "compiler": os.environ["CPYTHON_COMPILER"],
        "openssl_version": ssl.OPENSSL_VERSION,
        "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "python_exe": relative(os.path.realpath(sys.executable)),
        "python_tag": f"cp{nodot}",
        "python_abi_tag": f"cp{nodot}{abiflags}",
        "python_platform_tag": sysconfig.get_platform().replace("-", "_").replace(".", "_"),
        "python_implementation_cache_tag": impl.cache_tag,
        "python_implementation_hex_version": impl.hexversion,
        "python_implementation_name": impl.name,
        "python_implementation_version": [str(part) for part in impl.version],
        "python_paths": {key: relative(path) for key, path in sysconfig.get_paths().items()},
        "python_paths_abstract": sysconfig.get_paths(expand=False),
        "python_config_vars": {key: str(value) for key, value in sysconfig.get_config_vars().items()},
        "python_stdlib_platform_config": relative(config_dir),
        "python_stdlib_test_packages": test_packages(),
        "python_suffixes": {
            "bytecode": importlib.machinery.BYTECODE_SUFFIXES,
            "debug_bytecode": importlib.machinery.DEBUG_BYTECODE_SUFFIXES,
            "extension": importlib.machinery.EXTENSION_SUFFIXES,
            "optimized_bytecode": importlib.machinery.OPTIMIZED_BYTECODE_SUFFIXES,
            "source": importlib.machinery.SOURCE_SUFFIXES,
        },
        "python_bytecode_magic_number": importlib.util.MAGIC_NUMBER.hex(),
        "builtin_modules": sorted(sys.builtin_module_names),
        "shared_extension_modules": shared_extension_modules(),
        "libpython_shared": relative(os.path.join(
            sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME"))),
        "libpython_static": relative(os.path.join(config_dir, sysconfig.get_config_var("LIBRARY"))),
    }
    json.dump(description, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
