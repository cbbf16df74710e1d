"""The `[release]` options."""

from __future__ import annotations

from pants.option.option_types import IntOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap


class ReleaseOptions(Subsystem):
    options_scope = "release"
    help = "How release archives (`cpython_distribution` targets) are named and made."

    tag = StrOption(
        default=None,
        help=softwrap(
            """
            The release tag in the archive names, python-build-standalone's date form, e.g.
            `20261124`. It is an option rather than the clock so that packaging is
            reproducible: the same inputs and tag give byte-identical archives.
            """
        ),
    )
    packager = StrOption(
        default="//build_rules/cpython_fips/packager:packager",
        help="The `pex_binary` target of the packaging tool.",
        advanced=True,
    )
    glibc_max_version = StrOption(
        default=None,
        help=softwrap(
            """
            The newest glibc symbol version a Linux distribution's binaries may need, in place of
            the distribution's `glibc_floor` (its platform's sysroot, from the build matrix).
            Validation only: the archives do not change.
            """
        ),
        advanced=True,
    )
    zstd_level = IntOption(
        default=12,
        help="The zstd compression level of the full archives (single-threaded, deterministic).",
        advanced=True,
    )


def rules():
    return ReleaseOptions.rules()
