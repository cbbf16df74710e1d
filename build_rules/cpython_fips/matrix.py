"""The build matrix: the platforms, CPython versions and flavours, and how each is built.

Data apart from logic, in the spirit of python-build-standalone's `targets.yml`: this is the one
place that says what exists. The BUILD files under `sources/` and `dist/` generate their targets
from it (it is exposed to them as `build_matrix`), and the rules check flavours against it.

Adding a platform: a row in PLATFORMS (and a `toolchain` target in `sources/toolchain/BUILD`).
Adding a CPython version: a row in VERSIONS and its pin in `sources/cpython/BUILD`. Build scripts
change only where the build really differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

Build = Tuple["Platform", "CPythonVersion", "Flavour"]


def version_key(version: str) -> Tuple[int, ...]:
    """`"3.10"` -> (3, 10): versions compare as numbers ("3.9" < "3.10"), never as strings."""
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True)
class Platform:
    """A platform distributions are built for."""

    # In the names of the component targets, e.g. `sources/cpython:3.13-noopt-linux-x86_64`.
    name: str
    # In the names of the //dist targets, e.g. `cpython-3.13-x86_64-linux`.
    dist_name: str
    # The target triple of python-build-standalone's archive names and PYTHON.json.
    triple: str
    # The `toolchain` target whose containers build for it; None where no container can.
    toolchain: Optional[str]
    # The GNU triple of the machine the binaries run on (a cross build's --host).
    gnu_host: str
    # OpenSSL's Configure target.
    openssl_target: str
    # Whether its builds are cross builds (its binaries do not run in the build container) ...
    cross_compile: bool = False
    # ... and the command that runs the target's programs there, for tests.
    emulator: str = ""
    # What CPython's configure would find out by running test programs, which a cross build
    # cannot: its pessimistic guesses would make a slower interpreter (no computed gotos, FNV
    # instead of SipHash), link -lpthread before the static libcrypto (no OpenSSL), or stop
    # configure (getaddrinfo). The values glibc Linux has on the target: the native x86_64
    # configure's results where the architecture does not matter (its config.cache was compared
    # with the cross build's).
    cross_configure_cache: Tuple[str, ...] = ()
    # The platform whose noopt interpreter of the same source a cross build runs as its
    # `--with-build-python` (built once, shared by every flavour); None for a native build.
    build_python_platform: Optional[str] = None
    # For a cross build: {system library: the `source_archive` pins of the target's Debian
    # packages that provide it}, for the system libraries CPython links that the emulator's
    # target directory lacks (the interpreter the build runs loads them).
    cross_sysroot_packages: Tuple[Tuple[str, Tuple[str, ...]], ...] = ()
    # The `toolchain` targets whose containers run the archives' runtime checks, each in turn:
    # bare Debians of the target's architecture (under qemu-user through binfmt_misc where it is
    # not the host's). On x86_64, bookworm and the oldest Debian served, bullseye.
    runtime_toolchains: Tuple[str, ...] = (
        "sources/toolchain:test-runtime",
        "sources/toolchain:test-runtime-bullseye",
    )
    # How those containers run on our x86_64 hosts when the target is another architecture.
    runtime_emulation: str = ""
    # Why CPython is not built for this platform yet: its //dist targets fail at once saying so.
    cpython_unavailable: str = ""
    # The oldest glibc the platform's binaries are to run on: the version of its
    # `glibc_sysroot` (sources/glibc-sysroot); "" where it has no glibc.
    glibc_floor: str = ""
    # For a platform the toolchain has no LLVM runtime of (a cross build): the `source_archive`
    # of the target's runtime package, which its sysroot takes the profile runtime from.
    compiler_runtime: str = ""
    # The first CPython whose flavours with `bolt` get BOLT here (configure's --enable-bolt,
    # llvm-bolt from the toolchain): the post-link layout of the interpreter by a profile of the
    # same task PGO trains with. "" where BOLT does not run: LLVM's BOLT rewrites x86_64 and
    # aarch64 ELF files, but its instrumented interpreter runs on the build machine, which a cross
    # build's cannot. 3.13: 3.12 has --enable-bolt too, but has not been built here.
    bolt_from: str = ""

    @property
    def builds_cpython(self) -> bool:
        return not self.cpython_unavailable

    @property
    def sysroot(self) -> str:
        """The `glibc_sysroot` target its components compile and link against."""
        return f"sources/glibc-sysroot:glibc-{self.glibc_floor}-{self.name}"

    def compiler_env(self) -> Dict[str, str]:
        """The target of every component's build script: it compiles with the sysroot's
        `bin/<TARGET_TRIPLE>-clang` and LLVM's tools by that prefix."""
        return {"TARGET_TRIPLE": self.gnu_host}

    def library_env(self) -> Dict[str, str]:
        """The environment of the static libraries' build scripts (sources/libraries/common.sh)."""
        cross = {"HOST_TRIPLE": self.gnu_host} if self.cross_compile else {}
        return {**self.compiler_env(), **cross}

    def openssl_env(self) -> Dict[str, str]:
        """The settings of sources/openssl/build.sh (its Configure target comes from a field)."""
        cross = {"OPENSSL_EMULATOR": self.emulator} if self.cross_compile else {}
        return {**self.compiler_env(), **cross}

    def cpython_env(self) -> Dict[str, str]:
        """The settings of sources/cpython/build.sh."""
        if not self.cross_compile:
            return self.compiler_env()
        return {
            **self.library_env(),
            "CPYTHON_EMULATOR": self.emulator,
            # One per line (build.sh reads them with mapfile).
            "CPYTHON_CROSS_CONFIGURE_CACHE": "\n".join(self.cross_configure_cache),
        }

    def optimisation_env(self, version: "CPythonVersion", flavour: "Flavour") -> Dict[str, str]:
        """The post-link optimisation of sources/cpython/build.sh for one build: BOLT for the
        flavours that take it, of the versions from `bolt_from`."""
        bolt = flavour.bolt and self.bolt_from and version.key >= version_key(self.bolt_from)
        return {"CPYTHON_BOLT": "1"} if bolt else {}

    def sysroot_env(self) -> Dict[str, str]:
        """The cross settings of sources/glibc-sysroot/build.sh."""
        if not self.cross_compile:
            return {}
        return {**self.library_env(), "SYSROOT_EMULATOR": self.emulator}

    def build_python(self, version: "CPythonVersion") -> Optional[str]:
        """The `cpython` target a cross build of `version` runs as its build machine's
        interpreter, or None for a native build."""
        if not self.build_python_platform:
            return None
        return f"sources/cpython:{version.minor}-noopt-{self.build_python_platform}"

    def sysroot_packages(self, version: "CPythonVersion") -> Tuple[str, ...]:
        """The pins a build of `version` unpacks into its sysroot (its `sysroot_packages`)."""
        by_library = dict(self.cross_sysroot_packages)
        return tuple(
            pin for library in version.system_libraries for pin in by_library.get(library, ())
        )


@dataclass(frozen=True)
class CPythonVersion:
    """What differs between CPython minor versions."""

    minor: str
    # How the extension modules that must live in libpython (extension-modules.txt's `builtin`
    # ones) get there: `module-buildtype` (configure's MODULE_BUILDTYPE=static, 3.11+) or
    # `setup-local` (a generated Modules/Setup.local: 3.10 has no MODULE_BUILDTYPE, and its
    # setup.py builds the other modules as shared libraries).
    builtin_modules: str = "module-buildtype"
    # Libraries only some versions use, e.g. zstd for 3.14's compression.zstd.
    extra_libraries: Tuple[str, ...] = ()
    # configure arguments only some versions take.
    configure_args: Tuple[str, ...] = ()
    # The system's shared libraries its extension modules link (the archives need them on the
    # host, as python-build-standalone's do): libcrypt for `_crypt`, which 3.13 removed.
    system_libraries: Tuple[str, ...] = ()
    # Why this version is not built yet: its //dist targets fail at once saying so.
    unavailable: str = ""

    @property
    def key(self) -> Tuple[int, ...]:
        return version_key(self.minor)

    def libraries(self) -> Tuple[str, ...]:
        """The `static_library` names (sources/libraries) this version's interpreter links."""
        return (*COMMON_LIBRARIES, *self.extra_libraries)

    def build_env(self) -> Dict[str, str]:
        """This version's settings for sources/cpython/build.sh."""
        env = {"CPYTHON_BUILTIN_MODULES": self.builtin_modules}
        if self.configure_args:
            # One argument per line (build.sh reads them with mapfile).
            env["CPYTHON_EXTRA_CONFIGURE_ARGS"] = "\n".join(self.configure_args)
        return env


@dataclass(frozen=True)
class Flavour:
    """How an interpreter is built."""

    # The `flavour` field of a `cpython` target.
    name: str
    # What the //dist target names add for it: `cpython-3.13-x86_64-linux<suffix>`.
    dist_suffix: str
    freethreaded: bool = False
    # Whether BOLT lays out its interpreter after PGO and LTO, where the platform runs BOLT
    # (Platform.bolt_from): the GIL release flavour. The freethreaded one has not been through
    # BOLT here yet.
    bolt: bool = False


PLATFORMS: Tuple[Platform, ...] = (
    Platform(
        name="linux-x86_64",
        dist_name="x86_64-linux",
        triple="x86_64-unknown-linux-gnu",
        toolchain="sources/toolchain:linux-x86_64",
        gnu_host="x86_64-linux-gnu",
        openssl_target="linux-x86_64",
        glibc_floor="2.17",
        bolt_from="3.13",
    ),
    Platform(
        name="linux-aarch64",
        dist_name="aarch64-linux",
        triple="aarch64-unknown-linux-gnu",
        toolchain="sources/toolchain:linux-aarch64",
        gnu_host="aarch64-linux-gnu",
        openssl_target="linux-aarch64",
        cross_compile=True,
        emulator="qemu-aarch64 -L /usr/aarch64-linux-gnu",
        cross_configure_cache=(
            "ac_cv_file__dev_ptmx=yes",
            "ac_cv_file__dev_ptc=no",
            "ac_cv_buggy_getaddrinfo=no",
            "ac_cv_pthread=yes",
            "ac_cv_cxx_thread=yes",
            "ac_cv_pthread_system_supported=yes",
            "ac_cv_aligned_required=no",
            "ac_cv_computed_gotos=yes",
            "ac_cv_working_tzset=yes",
            "ac_cv_broken_sem_getvalue=no",
            # wchar_t is unsigned on aarch64 (signed on x86_64).
            "ac_cv_wchar_t_signed=no",
        ),
        build_python_platform="linux-x86_64",
        cross_sysroot_packages=(("crypt", ("sources/libxcrypt:libcrypt1-arm64",)),),
        # Under emulation the checks take several times as long: bookworm's only.
        runtime_toolchains=("sources/toolchain:test-runtime-arm64",),
        runtime_emulation="qemu-user",
        # glibc's first release for aarch64.
        glibc_floor="2.17",
        compiler_runtime="sources/glibc-sysroot:libclang-rt-19-dev-arm64",
    ),
    Platform(
        name="macos-arm64",
        dist_name="aarch64-macos",
        triple="aarch64-apple-darwin",
        toolchain=None,
        gnu_host="aarch64-apple-darwin",
        openssl_target="darwin64-arm64-cc",
        cpython_unavailable=(
            "CPython for aarch64-apple-darwin is not built yet: it needs a macOS arm64 host and "
            "a build script of its own."
        ),
    ),
)

# Newest last. Each has its pin, `sources/cpython:cpython-<minor>`.
VERSIONS: Tuple[CPythonVersion, ...] = (
    CPythonVersion(
        minor="3.10",
        builtin_modules="setup-local",
        system_libraries=("crypt",),
    ),
    CPythonVersion(minor="3.11", system_libraries=("crypt",)),
    CPythonVersion(minor="3.12", system_libraries=("crypt",)),
    CPythonVersion(minor="3.13"),
    CPythonVersion(
        minor="3.14",
        extra_libraries=("zstd",),
        # 3.14's hmac falls back to the HACL* `_hmac` module where OpenSSL refuses a digest,
        # which in FIPS mode would compute HMAC-MD5 with CPython's own code. Without the module,
        # hmac's remaining fallback builds on hashlib's constructors, which FIPS mode confines.
        configure_args=("py_cv_module__hmac=n/a",),
    ),
)

FLAVOURS: Tuple[Flavour, ...] = (
    Flavour(name="pgo+lto", dist_suffix="", bolt=True),
    Flavour(name="noopt", dist_suffix="-noopt"),
    Flavour(name="freethreaded+pgo+lto", dist_suffix="-freethreaded", freethreaded=True),
    Flavour(name="freethreaded+noopt", dist_suffix="-freethreaded-noopt", freethreaded=True),
)
# The first CPython whose configure has --disable-gil.
FIRST_FREETHREADED = "3.13"
# The first CPython whose configure takes --with-build-python, which our cross builds use.
FIRST_CROSS_BUILT = "3.11"

# The static libraries every interpreter links (sources/libraries). Line editing is libedit's
# (BSD licence) in every version: CPython's configure takes --with-readline=editline from 3.10.
COMMON_LIBRARIES = (
    "bzip2",
    "libedit",
    "libffi",
    "mpdecimal",
    "ncurses",
    "sqlite",
    "uuid",
    "xz",
    "zlib",
)


def flavour_error(minor: str, flavour: str) -> Optional[str]:
    """Why CPython `minor` cannot be built as `flavour`, or None if it can."""
    if flavour not in {f.name for f in FLAVOURS}:
        return (
            f"unknown flavour {flavour!r}; the flavours are {', '.join(f.name for f in FLAVOURS)}"
        )
    freethreaded = next(f for f in FLAVOURS if f.name == flavour).freethreaded
    if freethreaded and version_key(minor) < version_key(FIRST_FREETHREADED):
        return f"the flavour {flavour!r} needs CPython {FIRST_FREETHREADED} or later, not {minor}"
    return None


@dataclass(frozen=True)
class BuildMatrix:
    """What BUILD files see as `build_matrix`."""

    platforms: Tuple[Platform, ...] = PLATFORMS
    versions: Tuple[CPythonVersion, ...] = VERSIONS

    def flavours(self, version: CPythonVersion) -> Tuple[Flavour, ...]:
        return tuple(f for f in FLAVOURS if flavour_error(version.minor, f.name) is None)

    def platform(self, name: str) -> Platform:
        for platform in self.platforms:
            if platform.name == name:
                return platform
        known = ", ".join(p.name for p in self.platforms)
        raise ValueError(f"unknown platform {name!r}; the platforms are {known}")

    def glibc_platforms(self) -> Tuple[Platform, ...]:
        """The container platforms with a glibc floor, each with its `glibc_sysroot`."""
        return tuple(p for p in self.container_platforms() if p.glibc_floor)

    def container_platforms(self) -> Tuple[Platform, ...]:
        """The platforms built in toolchain containers (OpenSSL and the libraries build there)."""
        return tuple(p for p in self.platforms if p.toolchain)

    def cpython_builds(self) -> Tuple[Build, ...]:
        """(platform, version, flavour) of every interpreter the build implements."""
        return tuple(
            (platform, version, flavour)
            for platform in self.platforms
            for version in self.versions
            if not self._reason(platform, version)
            for flavour in self.flavours(version)
        )

    def distributions(self) -> Tuple[Build, ...]:
        """(platform, version, flavour) of every //dist target, built or not."""
        return tuple(
            (platform, version, flavour)
            for version in self.versions
            for platform in self.platforms
            for flavour in self.flavours(version)
        )

    @staticmethod
    def _reason(platform: Platform, version: CPythonVersion) -> str:
        if platform.cpython_unavailable or version.unavailable:
            return platform.cpython_unavailable or version.unavailable
        if platform.cross_compile and version.key < version_key(FIRST_CROSS_BUILT):
            return (
                f"CPython {version.minor} is not cross-built for {platform.triple}: cross builds "
                f"start at {FIRST_CROSS_BUILT}, the first CPython whose configure takes "
                "--with-build-python."
            )
        return ""

    def unavailable(self, platform: Platform, version: CPythonVersion) -> str:
        """Why the build does not implement this cell, and what it does implement; "" if it does."""
        reason = self._reason(platform, version)
        if not reason:
            return ""
        built = "; ".join(
            f"{', '.join(v.minor for v in self.versions if not self._reason(p, v))} for {p.triple}"
            for p in self.platforms
            if p.builds_cpython
        )
        return f"{reason} Built today: CPython {built} (README, 'CPython builds')."


BUILD_MATRIX = BuildMatrix()
