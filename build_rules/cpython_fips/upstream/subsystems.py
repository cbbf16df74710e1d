"""The `[source-mirrors]` options: where pinned source archives are looked for."""

from __future__ import annotations

from pants.option.option_types import StrListOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text, softwrap

from cpython_fips.upstream.pins import DEBIAN, PYPI, UPSTREAM


class SourceMirrors(Subsystem):
    options_scope = "source-mirrors"
    help = help_text(
        """
        Where the pinned upstream source archives (`source_archive` targets) are looked for.
        Whatever the place, a file is accepted only if its sha256 and size equal the pin's.
        """
    )

    mirrors = StrListOption(
        default=[UPSTREAM, DEBIAN, PYPI],
        help=softwrap(
            f"""
            The places to look for an archive, tried in this order until one has it:

            - `{UPSTREAM}`: the pin's own `urls`;
            - `{DEBIAN}`: the pin's `debian_orig` file in the Debian archives of
              `--debian-archives`;
            - `{PYPI}`: the pin's file among its `pypi_project`'s files in the package indexes of
              `[python-repos].indexes`, where the index says it is;
            - a local directory (absolute, or relative to the build root) or a URL prefix, under
              which the archive is looked up by its file name, e.g. `/srv/sources` or
              `https://mirror.example.com/sources`;
            - a template with `{{filename}}`, `{{sha256}}`, `{{name}}` (the pin's target name) or
              `{{version}}` placeholders, e.g. `file:///srv/cas/{{sha256}}`.

            A missing file moves on to the next place; a file whose digest differs from the pin is
            an error that stops the build.
            """
        ),
    )
    debian_archives = StrListOption(
        default=[],
        help=softwrap(
            """
            Base URIs of Debian archives searched for `debian_orig` files (the URI of a
            `deb-src` line, e.g. `https://deb.example.org/debian`). Empty means: the archives of
            Debian's own suites that the host's apt is configured with
            (`/etc/apt/sources.list` and `/etc/apt/sources.list.d/`).
            """
        ),
    )
