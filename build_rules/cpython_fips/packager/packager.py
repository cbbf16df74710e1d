"""Validates a CPython build and packages it as release archives in python-build-standalone's
format. Run by the `cpython_distribution` rules as a PEX; writes nothing to --out unless every
check passes.

    packager.py --install DIR --stripped DIR --build-info FILE --deps DIR --openssl DIR
        --components FILE --archives DIR --target-triple TRIPLE --tag TAG
        --glibc-max-version 2.17 --zstd-level N --out DIR --unpacked DIR

Archives (NAME = cpython-<version>-<triple>):
  NAME-<build options>-<tag>.tar.zst          python/PYTHON.json (first), python/install,
                                              python/build/lib (static libraries to relink),
                                              python/licenses
  NAME-[<variant>-]install_only-<tag>.tar.gz           python/: the install tree without test
                                                       packages, test modules, static libpython
  NAME-[<variant>-]install_only_stripped-<tag>.tar.gz  the same, debug information stripped
                                                       (except the FIPS module)
Each archive is also unpacked under --unpacked/<kind> for the runtime checks.
"""

from __future__ import annotations

import argparse
import fnmatch
import gzip
import hashlib
import hmac
import io
import json
import os
import re
import shutil
import stat
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Dict, Iterable, Iterator, List, Optional, Tuple

import jsonschema
import zstandard
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from cpython_fips.packager import expectations

PYTHON_JSON_VERSION = "8"
SCHEMA = Path(__file__).with_name("python_json.schema.json")
# Every entry of every archive has this modification time (2000-01-01), owner and group.
ARCHIVE_MTIME = 946684800
PF_X = 0x1
DF_BIND_NOW = 0x8
DF_1_NOW = 0x1


class ValidationFailed(Exception):
    pass


# --- naming -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveNames:
    full: str
    install_only: str
    install_only_stripped: str

    @classmethod
    def of(cls, version: str, triple: str, flavour: str, tag: str) -> "ArchiveNames":
        base = f"cpython-{version}-{triple}"
        # The release build (pgo+lto) has no variant prefix in the install_only names.
        variant = flavour.replace("+pgo+lto", "").replace("pgo+lto", "")
        prefix = f"{variant}-" if variant else ""
        return cls(
            full=f"{base}-{flavour}-{tag}.tar.zst",
            install_only=f"{base}-{prefix}install_only-{tag}.tar.gz",
            install_only_stripped=f"{base}-{prefix}install_only_stripped-{tag}.tar.gz",
        )


def build_options(flavour: str) -> str:
    """PYTHON.json's spelling of the flavour (`freethreading`, not `freethreaded`)."""
    return flavour.replace("freethreaded", "freethreading")


# --- PYTHON.json --------------------------------------------------------------------------------


def object_file_format(info: dict) -> str:
    """What the static libraries' objects are, in python-build-standalone's spelling: clang's
    LTO leaves LLVM bitcode in libpython3.X.a (linkable only with an LLVM of that version or
    later), where every other build leaves ELF objects (GCC's LTO adds -ffat-lto-objects)."""
    clang = re.search(r"clang version (\d+\.\d+\.\d+)", info["compiler"])
    if clang and "--with-lto" in info["configure_args"]:
        return f"llvm-bitcode:{clang.group(1)}"
    return "elf"


def python_json(info: dict, triple: str, components: List[dict], static_libs: List[str]) -> dict:
    flavour = info["flavour"]
    prefixed = {key: f"install/{path}" for key, path in info["python_paths"].items()}
    return {
        "version": PYTHON_JSON_VERSION,
        "target_triple": triple,
        "optimizations": flavour.replace("freethreaded+", ""),
        "build_options": build_options(flavour),
        "python_tag": info["python_tag"],
        "python_abi_tag": info["python_abi_tag"],
        "python_platform_tag": info["python_platform_tag"],
        "python_implementation_cache_tag": info["python_implementation_cache_tag"],
        "python_implementation_hex_version": info["python_implementation_hex_version"],
        "python_implementation_name": info["python_implementation_name"],
        "python_implementation_version": info["python_implementation_version"],
        "python_version": info["python_version"],
        "python_major_minor_version": info["python_major_minor_version"],
        "python_paths": prefixed,
        "python_paths_abstract": info["python_paths_abstract"],
        "python_config_vars": info["python_config_vars"],
        "python_exe": f"install/{info['python_exe']}",
        "python_stdlib_platform_config": f"install/{info['python_stdlib_platform_config']}",
        "python_stdlib_test_packages": info["python_stdlib_test_packages"],
        "python_suffixes": info["python_suffixes"],
        "python_bytecode_magic_number": info["python_bytecode_magic_number"],
        "python_symbol_visibility": "global-default",
        "python_extension_module_loading": ["builtin", "shared-library"],
        "libpython_link_mode": "shared",
        "crt_features": ["glibc-dynamic"],
        "run_tests": None,
        "licenses": ["Python-2.0", "CNRI-Python"],
        "license_path": "licenses/cpython/LICENSE.txt",
        "tcl_library_path": None,
        "tcl_library_paths": None,
        "build_info": {
            "core": {
                "objs": [],
                "links": [{"name": Path(lib).stem[3:], "path_static": lib} for lib in static_libs],
                "shared_lib": f"install/{info['libpython_shared']}",
                "static_lib": f"install/{info['libpython_static']}",
            },
            "extensions": {
                name: [
                    {
                        "in_core": True,
                        "objs": [],
                        "links": [],
                        "init_fn": f"PyInit_{name}",
                        "licenses": None,
                        "license_paths": None,
                        "license_public_domain": None,
                        "variant": "default",
                    }
                ]
                for name in info["builtin_modules"]
            },
            "inittab_object": None,
            "inittab_source": None,
            "inittab_cflags": [],
            "object_file_format": object_file_format(info),
        },
        # Our additions (ignored by readers of format 8): what is bundled, from which source,
        # the provenance of the CPython source itself, and how it was built.
        "cpython_fips": {
            "flavour": flavour,
            "openssl_version": info["openssl_version"],
            "source": info["source"],
            "configure_args": info["configure_args"],
            "compiler": info["compiler"],
            "components": components,
        },
    }


# --- validation ---------------------------------------------------------------------------------


def is_elf(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    with path.open("rb") as f:
        return f.read(4) == b"\x7fELF"


def glibc_version(name: str) -> Optional[Tuple[int, ...]]:
    match = re.fullmatch(r"GLIBC_(\d+(?:\.\d+)*)", name)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


# A library search path entry that is the object's own directory.
ORIGINS = ("$ORIGIN", "${ORIGIN}")


def check_elf(
    path: Path, relative: str, machine: str, glibc_max: Tuple[int, ...], check_exports: bool
) -> List[str]:
    problems = []
    with path.open("rb") as f:
        elf = ELFFile(f)
        if elf["e_machine"] != machine:
            problems.append(f"built for {elf['e_machine']}, not for the target's {machine}")
        if elf.header["e_type"] not in ("ET_DYN", "ET_EXEC"):
            return [f"{relative}: {problem}" for problem in problems]
        segments = {segment["p_type"]: segment for segment in elf.iter_segments()}
        stack = segments.get("PT_GNU_STACK")
        if stack is None or stack["p_flags"] & PF_X:
            problems.append("executable stack (no non-executable PT_GNU_STACK)")
        if "PT_GNU_RELRO" not in segments:
            problems.append("no RELRO (PT_GNU_RELRO)")
        dynamic = next((s for s in elf.iter_sections() if isinstance(s, DynamicSection)), None)
        tags = list(dynamic.iter_tags()) if dynamic else []
        flags = {tag.entry.d_tag: tag.entry.d_val for tag in tags}
        bind_now = (
            "DT_BIND_NOW" in flags
            or flags.get("DT_FLAGS", 0) & DF_BIND_NOW
            or flags.get("DT_FLAGS_1", 0) & DF_1_NOW
        )
        if dynamic and not bind_now:
            problems.append("no BIND_NOW")
        for tag in tags:
            if tag.entry.d_tag in ("DT_RPATH", "DT_RUNPATH"):
                search_path = tag.rpath if tag.entry.d_tag == "DT_RPATH" else tag.runpath
                outside = [
                    entry
                    for entry in search_path.split(":")
                    if not entry.startswith(("$ORIGIN/", "${ORIGIN}/")) and entry not in ORIGINS
                ]
                if outside:
                    problems.append(
                        f"{tag.entry.d_tag} searches {':'.join(outside)}: only $ORIGIN-relative "
                        "entries stay inside the relocated installation (a relative one follows "
                        "the working directory)"
                    )
            if tag.entry.d_tag == "DT_NEEDED":
                needed = tag.needed
                if needed not in expectations.ALLOWED_NEEDED_LINUX and not needed.startswith(
                    expectations.ALLOWED_NEEDED_PREFIXES
                ):
                    problems.append(f"needs {needed}, which is not on the allow-list")
        for section in elf.iter_sections():
            if isinstance(section, GNUVerNeedSection):
                for _, auxiliaries in section.iter_versions():
                    for aux in auxiliaries:
                        version = glibc_version(aux.name)
                        if version and version > glibc_max:
                            floor = ".".join(map(str, glibc_max))
                            problems.append(f"needs {aux.name}, newer than the glibc floor {floor}")
        if check_exports:
            dynsym = elf.get_section_by_name(".dynsym")
            exported = [
                symbol.name
                for symbol in (dynsym.iter_symbols() if dynsym else [])
                if symbol["st_shndx"] != "SHN_UNDEF"
                and symbol["st_info"]["bind"] in ("STB_GLOBAL", "STB_WEAK")
                and symbol.name.startswith(expectations.OPENSSL_SYMBOL_PREFIXES)
            ]
            if exported:
                problems.append(f"exports OpenSSL symbols: {', '.join(sorted(exported)[:5])}...")
    return [f"{relative}: {problem}" for problem in problems]


def check_elf_files(tree: Path, machine: str, glibc_max: Tuple[int, ...]) -> Tuple[int, List[str]]:
    checked, problems = 0, []
    for path in sorted(tree.rglob("*")):
        if not is_elf(path):
            continue
        relative = path.relative_to(tree).as_posix()
        checked += 1
        check_exports = relative != expectations.FIPS_MODULE
        problems.extend(check_elf(path, relative, machine, glibc_max, check_exports))
    if checked == 0:
        problems.append(f"{tree}: no ELF file found")
    return checked, problems


def check_fips_module(tree: Path) -> List[str]:
    module = tree / expectations.FIPS_MODULE
    config = tree / expectations.FIPS_MODULE_CONFIG
    if not module.is_file() or not config.is_file():
        return [f"{expectations.FIPS_MODULE} or {expectations.FIPS_MODULE_CONFIG} is missing"]
    match = re.search(r"^module-mac\s*=\s*(\S+)", config.read_text(), re.M)
    expected = match.group(1).replace(":", "").lower() if match else None
    key = bytes.fromhex(expectations.FIPS_MODULE_MAC_KEY)
    actual = hmac.new(key, module.read_bytes(), hashlib.sha256).hexdigest()
    if expected != actual:
        return [f"{expectations.FIPS_MODULE}: MAC {actual} does not match module-mac {expected}"]
    return []


def check_modules(info: dict, modules: expectations.ModuleExpectations) -> List[str]:
    problems = []
    builtin = set(info["builtin_modules"])
    present = builtin | set(info["shared_extension_modules"])
    missing = sorted(set(modules.required) - present)
    if missing:
        problems.append(f"extension modules missing: {', '.join(missing)}")
    not_built_in = sorted(set(modules.builtin) - builtin)
    if not_built_in:
        problems.append(f"not linked into libpython: {', '.join(not_built_in)}")
    return problems


def check_schema(document: dict, schema_path: Path) -> List[str]:
    schema = json.loads(schema_path.read_text())
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"PYTHON.json: {'/'.join(map(str, error.path)) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    ]


# --- licences -----------------------------------------------------------------------------------


def license_files(archive: Path) -> Iterator[Tuple[str, bytes]]:
    """The licence files at the top of a source archive's single top directory."""
    with tarfile.open(archive) as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts
            if (
                member.isfile()
                and len(parts) == 2
                and parts[1].upper().startswith(expectations.LICENSE_FILE_PREFIXES)
            ):
                extracted = tar.extractfile(member)
                if extracted is not None:
                    yield parts[1], extracted.read()


def collect_licenses(
    install: Path, info: dict, components: List[dict], archives: Path
) -> Dict[str, bytes]:
    stdlib = install / info["python_paths"]["stdlib"]
    licenses = {"cpython/LICENSE.txt": (stdlib / "LICENSE.txt").read_bytes()}
    for component in components:
        found = dict(license_files(archives / component["archive"]))
        if not found:
            raise ValidationFailed(
                f"no licence file in {component['archive']} ({component['name']})"
            )
        for name, content in sorted(found.items()):
            licenses[f"{component['name']}/{name}"] = content
        component["license_files"] = [
            f"licenses/{component['name']}/{name}" for name in sorted(found)
        ]
    return licenses


# --- archives -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One archive member: a file or symlink of a tree, or bytes."""

    name: str
    path: Optional[Path] = None
    content: Optional[bytes] = None


def tree_entries(tree: Path, prefix: str, excluded: Iterable[str] = ()) -> List[Entry]:
    """Every file, symlink and directory of `tree`, named `prefix/<relative path>`, but those
    whose relative path matches an `excluded` glob (`*` matches across directories)."""
    patterns = list(excluded)
    return [
        Entry(f"{prefix}/{relative}", path=path)
        for path, relative in ((p, p.relative_to(tree).as_posix()) for p in tree.rglob("*"))
        if not any(fnmatch.fnmatchcase(relative, pattern) for pattern in patterns)
    ]


def tar_info(entry: Entry) -> Tuple[tarfile.TarInfo, Optional[BinaryIO]]:
    info = tarfile.TarInfo(entry.name)
    info.mtime = ARCHIVE_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if entry.content is not None:
        info.mode, info.size = 0o644, len(entry.content)
        return info, io.BytesIO(entry.content)
    assert entry.path is not None
    st = entry.path.lstat()
    if stat.S_ISLNK(st.st_mode):
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, os.readlink(entry.path), 0o777
        return info, None
    if stat.S_ISDIR(st.st_mode):
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        return info, None
    info.mode = 0o755 if st.st_mode & 0o111 else 0o644
    info.size = st.st_size
    return info, entry.path.open("rb")


def write_tar(entries: List[Entry], stream) -> None:
    with tarfile.open(fileobj=stream, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for entry in sorted(entries, key=lambda e: e.name):
            info, content = tar_info(entry)
            tar.addfile(info, content)
            if content is not None:
                content.close()


def write_tar_gz(entries: List[Entry], path: Path) -> None:
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        write_tar(entries, gz)


def write_tar_zst(entries: List[Entry], path: Path, level: int) -> None:
    compressor = zstandard.ZstdCompressor(level=level, threads=0)
    with path.open("wb") as raw, compressor.stream_writer(raw, closefd=False) as zst:
        write_tar(entries, zst)


def unpack(archive: Path, destination: Path) -> None:
    destination.mkdir(parents=True)
    if archive.name.endswith(".tar.zst"):
        with archive.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as zst:
            with tarfile.open(fileobj=zst, mode="r|") as tar:
                tar.extractall(destination)
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(destination)


# --- main ---------------------------------------------------------------------------------------


def validate(
    args: argparse.Namespace,
    info: dict,
    document: dict,
    modules: expectations.ModuleExpectations,
) -> None:
    glibc_max = tuple(int(part) for part in args.glibc_max_version.split("."))
    machine = expectations.elf_machine(args.target_triple)
    problems: List[str] = []
    for name, tree in (("install", args.install), ("stripped", args.stripped)):
        checked, tree_problems = check_elf_files(tree, machine, glibc_max)
        problems += [f"{name}: {p}" for p in tree_problems]
        problems += [f"{name}: {p}" for p in check_fips_module(tree)]
        print(f"    {name}: {checked} ELF files checked")
    fips = expectations.FIPS_MODULE
    if (args.install / fips).read_bytes() != (args.stripped / fips).read_bytes():
        problems.append(f"stripped: {fips} differs from the build's")
    problems += check_modules(info, modules)
    problems += check_schema(document, SCHEMA)
    if problems:
        raise ValidationFailed("\n".join(problems))


def package_distribution(args: argparse.Namespace) -> None:
    info = json.loads(args.build_info.read_text())
    components = json.loads(args.components.read_text())
    modules = expectations.ModuleExpectations.parse(
        args.extension_modules.read_text(),
        tuple(int(part) for part in info["python_version"].split(".")[:2]),
    )
    names = ArchiveNames.of(info["python_version"], args.target_triple, info["flavour"], args.tag)
    # The static libraries libpython was linked with, by their path in the full archive.
    static_libs = {
        f"build/lib/{lib.name}": lib
        for root in (args.deps, args.openssl)
        for lib in (root / "lib").glob("*.a")
    }
    licenses = collect_licenses(args.install, info, components, args.archives)
    document = python_json(info, args.target_triple, components, sorted(static_libs))
    print(f"Validating {names.full[:-len('.tar.zst')]}")
    validate(args, info, document, modules)

    test_packages = [
        f"{info['python_paths']['stdlib']}/{package.replace('.', '/')}"
        for package in info["python_stdlib_test_packages"]
    ]
    excluded = [
        *modules.install_only_excluded_globs(),
        *test_packages,
        *(f"{package}/*" for package in test_packages),
    ]
    full = [
        Entry(
            "python/PYTHON.json",
            content=(json.dumps(document, indent=2, sort_keys=True) + "\n").encode(),
        ),
        *tree_entries(args.install, "python/install"),
        *(Entry(f"python/{name}", path=path) for name, path in static_libs.items()),
        *(Entry(f"python/licenses/{name}", content=content) for name, content in licenses.items()),
    ]
    scratch = args.out.with_name(args.out.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    write_tar_zst(full, scratch / names.full, args.zstd_level)
    write_tar_gz(tree_entries(args.install, "python", excluded), scratch / names.install_only)
    write_tar_gz(
        tree_entries(args.stripped, "python", excluded), scratch / names.install_only_stripped
    )
    for kind, name in (
        ("full", names.full),
        ("install_only", names.install_only),
        ("install_only_stripped", names.install_only_stripped),
    ):
        unpack(scratch / name, args.unpacked / kind)
        print(f"    {name}: {(scratch / name).stat().st_size} bytes")
    scratch.rename(args.out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in (
        "install",
        "stripped",
        "build-info",
        "deps",
        "openssl",
        "components",
        "archives",
        "extension-modules",
        "out",
        "unpacked",
    ):
        parser.add_argument(f"--{name}", type=Path, required=True)
    parser.add_argument("--target-triple", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--glibc-max-version", required=True)
    parser.add_argument("--zstd-level", type=int, default=12)
    args = parser.parse_args()
    try:
        package_distribution(args)
    except ValidationFailed as failure:
        print(f"error: validation failed; nothing was written:\n{failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
