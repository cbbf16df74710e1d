from __future__ import annotations

import json
from pathlib import Path

from sources.cpython.relocate import relative_build_details, rewrite_build_details, target_tools

# What CPython 3.14's `make install` writes for --prefix=/install (trimmed).
ABSOLUTE = {
    "schema_version": "1.0",
    "base_prefix": "/install",
    "base_interpreter": "/install/bin/python3.14",
    "platform": "linux-x86_64",
    "libpython": {"dynamic": "/install/lib/libpython3.14.so", "link_extensions": False},
    "c_api": {"headers": "/install/include/python3.14", "pkgconfig_path": "/install/lib/pkgconfig"},
    "abi": {"extension_suffix": ".cpython-314-x86_64-linux-gnu.so"},
}


def test_build_details_become_relative_as_pep_739_defines() -> None:
    relative = relative_build_details(ABSOLUTE, "/install", "/install/lib/python3.14")
    assert relative == {
        **ABSOLUTE,
        # Relative to the file's directory; the other paths relative to it.
        "base_prefix": "../..",
        "base_interpreter": "./bin/python3.14",
        "libpython": {"dynamic": "./lib/libpython3.14.so", "link_extensions": False},
        "c_api": {"headers": "./include/python3.14", "pkgconfig_path": "./lib/pkgconfig"},
    }


def test_rewritten_file_resolves_wherever_the_tree_is(tmp_path: Path) -> None:
    details = tmp_path / "lib/python3.14/build-details.json"
    details.parent.mkdir(parents=True)
    details.write_text(json.dumps(ABSOLUTE))
    rewrite_build_details(details, tmp_path, "/install")
    written = json.loads(details.read_text())
    base = (details.parent / written["base_prefix"]).resolve()
    assert base == tmp_path.resolve()
    assert (base / written["c_api"]["headers"]).resolve() == tmp_path / "include/python3.14"


def test_build_tools_become_the_targets_own() -> None:
    native = target_tools("aarch64-linux-gnu-")
    # What a build's _sysconfigdata records (3.13, aarch64).
    assert native("aarch64-linux-gnu-clang -pthread -shared") == "gcc -pthread -shared"
    assert native("'CC=aarch64-linux-gnu-clang' 'AR=aarch64-linux-gnu-ar'") == "'CC=gcc' 'AR=ar'"
    assert native("aarch64-linux-gnu-ar") == "ar"
    assert native("aarch64-linux-gnu-g++") == "g++"
    for kept in (
        "aarch64-linux-gnu",
        ".cpython-313-aarch64-linux-gnu.so",
        "_sysconfigdata__linux_aarch64-linux-gnu",
        "'--host=aarch64-linux-gnu' '--build=x86_64-linux-gnu'",
    ):
        assert native(kept) == kept
    assert target_tools("")("aarch64-linux-gnu-clang") == "aarch64-linux-gnu-clang"
