"""Options of the component builds."""

from __future__ import annotations

from pants.option.option_types import DictOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import help_text


class CPythonBuildOptions(Subsystem):
    options_scope = "cpython-build"
    help = "Options of the CPython builds (`cpython` targets)."

    local_source_trees = DictOption[str](
        help=help_text(
            """
            Extracted CPython source trees to build instead of the pinned release tarballs, by
            minor version: e.g. `{"3.11": "/srv/src/Python-3.11.2"}`. For releases whose tarball
            cannot be fetched where the build runs. The tree's content digest replaces the pin in
            the cache key (the tree is read again in every run, so edits are seen), and the
            build's metadata marks it unpinned. A relative path is taken from the build root.
            """
        ),
    )


def rules():
    return CPythonBuildOptions.rules()
