"""Target types of the components built in toolchain containers: OpenSSL, the third-party
static libraries, glibc sysroots, CPython.

Each component is one cached build step: a shell script beside its BUILD file, the pinned
archives it builds from, the install trees of the components it builds against, and a toolchain
to build in.
"""

from __future__ import annotations

from typing import Any, ClassVar, Tuple

from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    DictStringToStringField,
    IntField,
    MultipleSourcesField,
    SingleSourceField,
    StringField,
    Target,
)
from pants.util.strutil import help_text

from cpython_fips.matrix import FLAVOURS
from cpython_fips.references import TargetReferenceField
from cpython_fips.toolchain.target_types import ToolchainPackagesField
from cpython_fips.upstream.target_types import SourceArchiveSha256Field


class ComponentToolchainField(TargetReferenceField):
    alias = "toolchain"
    required = True
    expected_kind = "toolchain"
    expected_field = ToolchainPackagesField
    help = "The address of the `toolchain` target whose container runs the build."


class ComponentScriptField(SingleSourceField):
    alias = "script"
    required = False
    default = "build.sh"
    uses_source_roots = False
    help = help_text(
        """
        The build script, run in the toolchain container as `bash -euo pipefail /in/<script>`.
        It reads its inputs under `/in` and writes the install tree to `/out`.
        """
    )


class ComponentFilesField(MultipleSourcesField):
    alias = "files"
    default: ClassVar[Tuple[str, ...]] = ()
    uses_source_roots = False
    help = "Other files the script uses, mounted beside it under `/in`."


class ComponentEnvField(DictStringToStringField):
    alias = "env"
    help = "Extra environment variables for the build script."


class ComponentTimeoutField(IntField):
    alias = "timeout"
    help = "Wall-clock limit of the build in seconds; default `[container-runner].timeout`."


class SourceArchiveReferenceField(TargetReferenceField):
    expected_kind = "source_archive"
    expected_field = SourceArchiveSha256Field


class ComponentSourceField(SourceArchiveReferenceField):
    alias = "source"
    required = True
    help = help_text("The `source_archive` the component is built from.")


class ComponentLibrariesField(TargetReferenceField):
    alias = "libraries"
    default: ClassVar[Tuple[str, ...]] = ()
    expected_kind = "static_library"
    help = help_text(
        """
        Addresses of the `static_library` targets this component builds against. Their install
        trees are merged under `/in/deps` (the prefix every library is configured for, so their
        pkg-config files work as they are); the script finds it in `DEPS_PREFIX`.
        """
    )


class ComponentSysrootField(TargetReferenceField):
    alias = "sysroot"
    expected_kind = "glibc_sysroot"
    help = help_text(
        """
        The `glibc_sysroot` target the component compiles and links against, mounted at
        `/in/sysroot` (the script finds it in `SYSROOT`): its glibc is the oldest the binaries
        run on, and its `bin/<triple>-clang` is the compiler. The build scripts of `sources/`
        need one.
        """
    )


class OpenSSLSourceField(ComponentSourceField):
    help = "The `source_archive` of the OpenSSL release the libraries are built from."


class OpenSSLFipsProviderSourceField(SourceArchiveReferenceField):
    alias = "fips_provider_source"
    help = help_text(
        """
        The `source_archive` of the OpenSSL release whose FIPS provider (`fips.so`) is shipped,
        when it is not `source`. Only some OpenSSL releases are CMVP-validated FIPS modules, and
        a validated provider works with later libraries; it is built from unmodified sources.
        """
    )


class OpenSSLConfigureTargetField(StringField):
    alias = "configure_target"
    default = "linux-x86_64"
    value: str
    help = "OpenSSL's `Configure` target, e.g. `linux-x86_64` or `linux-aarch64`."


COMPONENT_FIELDS = (
    *COMMON_TARGET_FIELDS,
    ComponentToolchainField,
    ComponentScriptField,
    ComponentFilesField,
    ComponentEnvField,
    ComponentTimeoutField,
)


class OpenSSLTarget(Target):
    alias = "openssl"
    core_fields = (
        *COMPONENT_FIELDS,
        ComponentSysrootField,
        OpenSSLSourceField,
        OpenSSLFipsProviderSourceField,
        OpenSSLConfigureTargetField,
    )
    help = help_text(
        """
        OpenSSL built as static libraries with a FIPS provider, for one platform, in a toolchain
        container: one cached step. Its install tree holds `include/`, `lib/libssl.a`,
        `lib/libcrypto.a`, `lib/ossl-modules/fips.so`, `ssl/fipsmodule.cnf`,
        `ssl/openssl-fips.cnf` and `bin/openssl`. `./pants package` writes it to the dist dir.
        """
    )


class StaticLibrarySourceField(ComponentSourceField):
    help = "The `source_archive` of the library's release."


class StaticLibraryTarget(Target):
    alias = "static_library"
    core_fields = (
        *COMPONENT_FIELDS,
        ComponentSysrootField,
        StaticLibrarySourceField,
        ComponentLibrariesField,
    )
    help = help_text(
        """
        A third-party C library built as a static, position-independent archive for one
        platform, in a toolchain container: one cached step. The script configures it for the
        prefix `/in/deps` (`DEPS_PREFIX`), where the components that use it find it, and writes
        that prefix's content (`include/`, `lib/*.a`, `lib/pkgconfig/`) to `/out`.
        `./pants package` writes the tree to the dist dir.
        """
    )


class GlibcSysrootSourceField(ComponentSourceField):
    help = help_text(
        """
        The `source_archive` of the `ziglang` wheel whose glibc headers and link stubs make the
        sysroot (`zig cc` generates stubs of any glibc version from its ABI lists).
        """
    )


class GlibcSysrootVersionField(StringField):
    alias = "glibc_version"
    required = True
    value: str
    help = help_text(
        """
        The glibc version the sysroot links against, e.g. `2.17`: the newest symbol version a
        binary linked against it can need, so the oldest glibc it runs on.
        """
    )


class GlibcSysrootCompilerRuntimeField(SourceArchiveReferenceField):
    alias = "compiler_runtime"
    help = help_text(
        """
        For a target the toolchain has no compiler runtime of (a cross build): the
        `source_archive` of a Debian package of LLVM's runtime for it (`libclang-rt-<version>-dev`
        of the target's architecture, of the toolchain's LLVM version), whose profile runtime
        links the instrumented programs of PGO builds.
        """
    )


class GlibcSysrootTarget(Target):
    alias = "glibc_sysroot"
    core_fields = (
        *COMPONENT_FIELDS,
        GlibcSysrootSourceField,
        GlibcSysrootVersionField,
        GlibcSysrootCompilerRuntimeField,
    )
    help = help_text(
        """
        A sysroot to compile and link against an older glibc than the toolchain's own, for one
        platform, made in a toolchain container: one cached step. Its tree holds `usr/include/`
        (glibc's and Linux's headers, with the functions of later glibc versions left out) and
        `usr/lib/<triple>/`: stub shared libraries that export exactly the symbols of that glibc
        version, with their versions, the start files and `libc_nonshared.a`. Nothing of it is
        shipped: the binaries load the glibc of the machine they run on. `./pants package`
        writes the tree to the dist dir.
        """
    )


class CPythonSourceField(ComponentSourceField):
    help = help_text(
        """
        The `source_archive` of the CPython release. `[cpython-build].local_source_trees` can
        replace it with an extracted source tree, per minor version.
        """
    )


class CPythonOpenSSLField(TargetReferenceField):
    alias = "openssl"
    required = True
    expected_kind = "openssl"
    expected_field = OpenSSLSourceField
    help = help_text(
        """
        The `openssl` target that `_ssl` and `_hashlib` link statically; its tree is mounted at
        `/in/openssl` and its FIPS files are installed under `share/ssl/`.
        """
    )


class CPythonBuildPythonField(TargetReferenceField):
    alias = "build_python"
    expected_kind = "cpython"
    help = help_text(
        """
        For a cross build: a `cpython` target of the same source built natively for the build
        machine, whose interpreter CPython's build runs (`--with-build-python`: freezing modules,
        byte-compiling, ensurepip). Its install tree is mounted at `/in/build-python`. It is
        built once and serves every flavour of the cross-built version.
        """
    )


class CPythonSysrootPackagesField(SourceArchiveReferenceField):
    alias = "sysroot_packages"
    default: ClassVar[Tuple[str, ...]] = ()
    help = help_text(
        """
        For a cross build: `source_archive` pins of Debian packages (`.deb`s) of the target's
        architecture that the cross toolchain's sysroot lacks, for the libraries CPython links
        from the system (libcrypt for `_crypt`, before 3.13). The build script unpacks them into
        a sysroot of its own (from `/in/sysroot-packages`) to compile and link against; nothing
        of them is shipped.
        """
    )


class CPythonFlavourField(StringField):
    alias = "flavour"
    required = True
    value: str
    valid_choices = tuple(flavour.name for flavour in FLAVOURS)
    help = help_text(
        """
        How the interpreter is optimised: `noopt` (plain -O2 with assertions off, for
        development), `pgo+lto` (profile-guided, link-time optimised: the release build),
        `freethreaded+pgo+lto` (3.13+, no GIL) and `freethreaded+noopt` (its development build).
        """
    )


class CPythonExtensionModulesField(SingleSourceField):
    alias = "extension_modules"
    required = False
    default = "extension-modules.txt"
    uses_source_roots = False
    help = help_text(
        """
        The list of the extension modules the interpreter must have (built in, or in
        lib-dynload) and of the test modules (see the file's header). The build script checks
        that configure enables them, and the packaging of a `cpython_distribution` checks its
        archives against the same list. Mounted beside the script.
        """
    )


class CPythonTarget(Target):
    alias = "cpython"
    core_fields = (
        *COMPONENT_FIELDS,
        ComponentSysrootField,
        CPythonSourceField,
        CPythonFlavourField,
        CPythonOpenSSLField,
        ComponentLibrariesField,
        CPythonExtensionModulesField,
        CPythonBuildPythonField,
        CPythonSysrootPackagesField,
    )
    help = help_text(
        """
        A CPython interpreter for one platform and flavour, built in a toolchain container against
        the `static_library` targets and an `openssl` target: one cached step. Extension modules
        are linked into libpython. The install tree is relocatable (`$ORIGIN`-relative rpath, and
        a `_sysconfigdata` that computes its paths from its own location). `./pants package`
        writes the tree and the build's metadata to the dist dir.
        """
    )


# Defined after the fields they name.
ComponentLibrariesField.expected_field = StaticLibrarySourceField
ComponentSysrootField.expected_field = GlibcSysrootVersionField
CPythonBuildPythonField.expected_field = CPythonFlavourField


def target_types() -> list[Any]:
    return [OpenSSLTarget, StaticLibraryTarget, GlibcSysrootTarget, CPythonTarget]
