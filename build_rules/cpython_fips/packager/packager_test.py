"""Unit tests of the packager's pieces; the whole flow runs in tests/distribution_test.py."""

from __future__ import annotations

import hashlib
import hmac
import platform
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

import pytest

from cpython_fips.packager import expectations, packager
from cpython_fips.packager.packager import (
    SCHEMA,
    ArchiveNames,
    check_fips_module,
    check_modules,
    check_schema,
    tree_entries,
    write_tar_gz,
)


def test_archive_names() -> None:
    names = ArchiveNames.of("3.13.15", "x86_64-unknown-linux-gnu", "pgo+lto", "20261124")
    assert names.full == "cpython-3.13.15-x86_64-unknown-linux-gnu-pgo+lto-20261124.tar.zst"
    assert (
        names.install_only
        == "cpython-3.13.15-x86_64-unknown-linux-gnu-install_only-20261124.tar.gz"
    )
    threaded = ArchiveNames.of("3.13.15", "x86_64-unknown-linux-gnu", "freethreaded+pgo+lto", "1")
    assert threaded.full.endswith("-freethreaded+pgo+lto-1.tar.zst")
    assert threaded.install_only_stripped.endswith("-freethreaded-install_only_stripped-1.tar.gz")
    noopt = ArchiveNames.of("3.13.15", "x86_64-unknown-linux-gnu", "noopt", "1")
    assert noopt.install_only.endswith("-noopt-install_only-1.tar.gz")


def make_tree(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "bin/python3.13").write_text("#!/bin/sh\n")
    (root / "bin/python3.13").chmod(0o700)
    (root / "bin/python3").symlink_to("python3.13")
    (root / "lib/python3.13/test").mkdir(parents=True)
    (root / "lib/python3.13/test/test_x.py").write_text("")
    (root / "lib/python3.13/os.py").write_text("")
    return root


def test_gzip_archives_are_byte_identical_whatever_the_files_times(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "a")
    first, second = tmp_path / "1.tar.gz", tmp_path / "2.tar.gz"
    write_tar_gz(tree_entries(tree, "python"), first)
    for path in tree.rglob("*"):
        if not path.is_symlink():
            path.touch()
    write_tar_gz(tree_entries(tree, "python"), second)
    assert first.read_bytes() == second.read_bytes()


def test_excluded_globs_cover_whole_directories(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "a")
    names = {
        e.name
        for e in tree_entries(tree, "python", ["lib/python3.13/test", "lib/python3.13/test/*"])
    }
    assert "python/lib/python3.13/os.py" in names
    assert not [n for n in names if "/test" in n]


def test_fips_module_mac(tmp_path: Path) -> None:
    module = tmp_path / expectations.FIPS_MODULE
    module.parent.mkdir(parents=True)
    module.write_bytes(b"provider")
    key = bytes.fromhex(expectations.FIPS_MODULE_MAC_KEY)
    mac = hmac.new(key, b"provider", hashlib.sha256).hexdigest().upper()
    config = tmp_path / expectations.FIPS_MODULE_CONFIG
    config.write_text(
        f"[fips_sect]\nmodule-mac = {':'.join(mac[i:i + 2] for i in range(0, 64, 2))}\n"
    )
    assert check_fips_module(tmp_path) == []
    module.write_bytes(b"provideR")
    [problem] = check_fips_module(tmp_path)
    assert "does not match module-mac" in problem


def test_schema_names_what_is_wrong() -> None:
    problems = check_schema({"version": "7"}, SCHEMA)
    assert any("'target_triple' is a required property" in p for p in problems)
    assert any(p.startswith("PYTHON.json: version:") for p in problems)


MODULES = """# a comment
_ssl      builtin
zlib      required
_crypt    required  before=3.13
_test*    test
xx*       test
"""


def test_module_expectations() -> None:
    modules = expectations.ModuleExpectations.parse(MODULES, (3, 13, 15))
    assert modules.builtin == ("_ssl",)
    assert modules.required == ("_ssl", "zlib")
    assert modules.test_patterns == ("_test*", "xx*")
    info = {"builtin_modules": ["zlib"], "shared_extension_modules": ["_ssl"]}
    assert check_modules(info, modules) == ["not linked into libpython: _ssl"]
    info = {"builtin_modules": ["_ssl"], "shared_extension_modules": []}
    assert check_modules(info, modules) == ["extension modules missing: zlib"]


def test_modules_of_older_versions_only() -> None:
    # `before=3.13`: required of 3.12 and 3.10 (versions compare as numbers), not of 3.13.
    assert "_crypt" in expectations.ModuleExpectations.parse(MODULES, (3, 12)).required
    assert "_crypt" in expectations.ModuleExpectations.parse(MODULES, (3, 10)).required
    assert "_crypt" not in expectations.ModuleExpectations.parse(MODULES, (3, 13)).required


@pytest.mark.parametrize(
    "line", ["_ssl builtin-ish", "_ssl", "_crypt required 3.13", "_crypt required before="]
)
def test_module_expectations_name_a_bad_line(line: str) -> None:
    with pytest.raises(
        ValueError, match=r"line 2: '.*': expected `<module> <kind> \[before=X.Y\]`"
    ):
        expectations.ModuleExpectations.parse(f"zlib required\n{line}\n", (3, 13))


def test_install_only_leaves_out_test_modules(tmp_path: Path) -> None:
    tree = tmp_path / "install"
    dynload = tree / "lib/python3.13/lib-dynload"
    dynload.mkdir(parents=True)
    for name in ("_testcapi", "xxlimited", "_xxsubinterpreters", "_curses"):
        (dynload / f"{name}.cpython-313-x86_64-linux-gnu.so").write_bytes(b"")
    (tree / "lib/python3.13/config-3.13-x86_64-linux-gnu").mkdir()
    (tree / "lib/python3.13/config-3.13-x86_64-linux-gnu/libpython3.13.a").write_bytes(b"")
    excluded = expectations.ModuleExpectations.parse(MODULES, (3, 13)).install_only_excluded_globs()
    kept = {e.name.rsplit("/", 1)[-1].split(".")[0] for e in tree_entries(tree, "python", excluded)}
    assert {"_xxsubinterpreters", "_curses"} <= kept
    assert not {"_testcapi", "xxlimited", "libpython3"} & kept


@pytest.mark.parametrize(
    "search_path, problem",
    [
        ("$ORIGIN/../lib", None),
        ("$ORIGIN", None),
        # What a `\$$ORIGIN` in make's LDFLAGS_NODIST becomes when a recursive make expands it
        # once more: relative to the working directory.
        ("RIGIN/../lib", "DT_RUNPATH searches RIGIN/../lib"),
        ("$ORIGIN/../lib:/in/deps/lib", "DT_RUNPATH searches /in/deps/lib"),
    ],
)
def test_library_search_paths_stay_in_the_installation(
    tmp_path: Path, search_path: str, problem: Optional[str]
) -> None:
    # A real shared library, linked here with that RUNPATH.
    source = tmp_path / "lib.c"
    source.write_text("int answer(void) { return 42; }\n")
    library = tmp_path / "lib.so"
    subprocess.run(
        [
            "gcc",
            "-shared",
            "-fPIC",
            "-Wl,-z,relro,-z,now",
            f"-Wl,-rpath,{search_path}",
            "-Wl,--enable-new-dtags",
            "-o",
            str(library),
            str(source),
        ],
        check=True,
    )
    machine = expectations.elf_machine(f"{platform.machine()}-unknown-linux-gnu")
    problems = packager.check_elf(library, "lib.so", machine, (9999,), False)
    found = [p for p in problems if "DT_RUNPATH" in p]
    if problem is None:
        assert found == [], problems
    else:
        assert len(found) == 1 and problem in found[0], problems


def test_elf_files_must_be_built_for_the_target() -> None:
    # A real ELF file: the interpreter running this test, built for the machine running it.
    interpreter = Path(sys.executable).resolve()
    host = expectations.elf_machine(f"{platform.machine()}-unknown-linux-gnu")
    other = next(machine for machine in expectations.ELF_MACHINES.values() if machine != host)
    newest = (9999,)

    def machine_problems(machine: str) -> List[str]:
        return [
            problem
            for problem in packager.check_elf(interpreter, "python", machine, newest, False)
            if "built for" in problem
        ]

    assert machine_problems(host) == []
    assert machine_problems(other) == [f"python: built for {host}, not for the target's {other}"]
    assert expectations.elf_machine("aarch64-unknown-linux-gnu") == "EM_AARCH64"
    with pytest.raises(ValueError, match="no ELF machine is known for the target riscv64"):
        expectations.elf_machine("riscv64-unknown-linux-gnu")


def test_object_file_format_names_clang_lto_bitcode() -> None:
    clang = "Debian clang version 19.1.7 (3~deb12u1)"
    lto = ["--enable-optimizations", "--with-lto"]
    assert packager.object_file_format({"compiler": clang, "configure_args": lto}) == (
        "llvm-bitcode:19.1.7"
    )
    assert packager.object_file_format({"compiler": clang, "configure_args": []}) == "elf"
    gcc = "gcc (Debian 10.2.1-6) 10.2.1 20210110"
    assert packager.object_file_format({"compiler": gcc, "configure_args": lto}) == "elf"
