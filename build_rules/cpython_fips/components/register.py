"""Components built in toolchain containers, one cached step each: OpenSSL with its FIPS
provider, the third-party static libraries, glibc sysroots and CPython."""

from pants.build_graph.build_file_aliases import BuildFileAliases

from cpython_fips.components import build, cpython, libraries, openssl, subsystems, sysroot
from cpython_fips.components.target_types import target_types as _target_types
from cpython_fips.matrix import BUILD_MATRIX


def build_file_aliases():
    # The BUILD files of sources/ and dist/ generate their targets from the build matrix.
    return BuildFileAliases(objects={"build_matrix": BUILD_MATRIX})


def target_types():
    return _target_types()


def rules():
    return [
        *build.rules(),
        *openssl.rules(),
        *libraries.rules(),
        *cpython.rules(),
        *sysroot.rules(),
        *subsystems.rules(),
    ]
