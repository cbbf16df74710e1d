"""The `[cpython-fips-provider]` options: which of our distributions runs the monorepo's code."""

from __future__ import annotations

from pants.option.option_types import BoolOption, StrListOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap


class CPythonFipsProvider(Subsystem):
    options_scope = "cpython-fips-provider"
    help = softwrap(
        """
        Runs the repository's Python code (tests, `run`, PEX binaries) on this repository's
        CPython distributions: the `cpython_fips.provider` backend registers a Python provider
        that serves interpreter constraints whose oldest allowed version is one we build (e.g.
        `CPython==3.13.*`), with the `install_only` archive of the distribution for the host
        platform, built through the normal graph (or restored from the local or remote cache),
        or downloaded from a release (`releases`). Other constraints, such as Pants' own tools'
        CPython 3.9, are served by the usual search of the interpreter search paths.
        """
    )

    flavour = StrOption(
        default="pgo+lto",
        help=softwrap(
            """
            The flavour of the distribution that runs user code: `pgo+lto` (the release build),
            `noopt` (quick to build, for development), or a free-threaded one (3.13+).
            """
        ),
    )
    fips_mode = BoolOption(
        default=False,
        help=softwrap(
            """
            Run user code in FIPS mode: the interpreter sets `OPENSSL_CONF` and `OPENSSL_MODULES`
            to its own FIPS configuration at startup (README, "FIPS"), unless they are set
            already, so every hash used for security comes from OpenSSL's FIPS provider or is
            refused. Applies to its subprocesses and virtualenvs too.
            """
        ),
    )
    versions = StrListOption(
        default=[],
        help=softwrap(
            """
            The CPython minor versions the provider serves (e.g. `["3.10"]`); empty (the
            default): every version built for the host platform. Constraints whose oldest
            allowed version is another get the interpreter the search of `[python-bootstrap]`
            finds.
            """
        ),
    )
    releases = StrListOption(
        default=[],
        help=softwrap(
            """
            Released `install_only` archives to use instead of building, each
            `<minor>|<target triple>|<url>|<sha256>|<size>`, e.g.
            `3.13|x86_64-unknown-linux-gnu|https://releases.example/cpython-3.13.15-x86_64-unknown-linux-gnu-pgo+lto-install_only-20261124.tar.gz|<sha256>|<size>`
            (file:// URLs too). An archive is used only if its sha256 and size are the ones
            given; a repository that does not build CPython itself gets its interpreters this way.
            """
        ),
    )
