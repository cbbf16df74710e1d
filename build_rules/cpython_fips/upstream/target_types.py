"""The `source_archive` target: one pinned upstream source archive."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Optional, Tuple

from pants.engine.addresses import Address
from pants.engine.target import (
    COMMON_TARGET_FIELDS,
    IntField,
    InvalidFieldException,
    MultipleSourcesField,
    StringField,
    StringSequenceField,
    Target,
)
from pants.util.strutil import help_text

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class SourceArchiveVersionField(StringField):
    alias = "version"
    required = True
    value: str
    help = "The upstream version of the archive's contents, e.g. `3.13.15`."


class SourceArchiveSha256Field(StringField):
    alias = "sha256"
    required = True
    value: str
    help = help_text(
        """
        The sha256 of the archive file, lower-case hex. Whatever mirror the file comes from, it is
        accepted only if its sha256 and size equal the pin.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> str:
        value = super().compute_value(raw_value, address)
        assert value is not None
        if not _SHA256.match(value):
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} must be 64 lower-case hex digits, "
                f"got {value!r}."
            )
        return value


class SourceArchiveSizeField(IntField):
    alias = "size"
    required = True
    value: int
    help = "The size of the archive file in bytes."

    @classmethod
    def compute_value(cls, raw_value: Optional[int], address: Address) -> int:
        value = super().compute_value(raw_value, address)
        assert value is not None
        if value <= 0:
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} must be positive, got {value}."
            )
        return value


class SourceArchiveLicenseField(StringField):
    alias = "license"
    required = True
    value: str
    help = help_text(
        """
        The license of the archive's contents as an SPDX license expression, e.g. `Apache-2.0`
        or `Python-2.0 AND CNRI-Python`.
        """
    )


class SourceArchiveUrlsField(StringSequenceField):
    alias = "urls"
    default: ClassVar[Tuple[str, ...]] = ()
    help = help_text(
        """
        Where the archive is published, in order of preference: upstream's own URL first. They
        are tried where `[source-mirrors].mirrors` lists `upstream`. May be empty for a file that
        exists only in a mirror, such as a Debian repack (see `repack`).
        """
    )


class SourceArchiveFilenameField(StringField):
    alias = "filename"
    help = help_text(
        """
        The archive's file name, used to look it up in mirrors. Defaults to the last path
        component of the first URL.
        """
    )


class SourceArchiveDebianOrigField(StringField):
    alias = "debian_orig"
    help = help_text(
        """
        The name of the Debian source package file that holds this archive, e.g.
        `python3.13_3.13.15.orig.tar.xz` (the source package name is the part before `_`), or
        of a binary package (`.deb`) built from one, which `debian_source_package` names. Where
        `[source-mirrors].mirrors` lists `debian`, the file is taken from the pool of the Debian
        archives the host's apt is configured with, and accepted only if its sha256 equals the
        pin. Debian's `.orig` files are usually byte-identical to the upstream release; where
        they are not, set `repack`.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
        value = super().compute_value(raw_value, address)
        if value is not None and not re.match(
            r"^[a-z0-9][a-z0-9.+-]+_[^/_]+(\.orig\.tar\.\w+|_[a-z0-9]+\.deb)$", value
        ):
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} must name a Debian `.orig` tarball such as "
                f"`openssl_3.5.7.orig.tar.gz` or a `.deb` such as `libcrypt1_4.4.18-4_arm64.deb`, "
                f"got {value!r}."
            )
        return value


class SourceArchivePyPIProjectField(StringField):
    alias = "pypi_project"
    help = help_text(
        """
        The PyPI project whose release files include this archive (an sdist), e.g.
        `python-sources`. Where `[source-mirrors].mirrors` lists `pypi`, the file is looked up by
        its `filename` in the package indexes of `[python-repos].indexes` and accepted only if its
        sha256 equals the pin. An sdist that repacks another project's release is a repack: set
        `repack` too.
        """
    )

    @classmethod
    def compute_value(cls, raw_value: Optional[str], address: Address) -> Optional[str]:
        value = super().compute_value(raw_value, address)
        if value is not None and not re.match(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$", value):
            raise InvalidFieldException(
                f"The `{cls.alias}` field of {address} must be a PyPI project name such as "
                f"`python-sources`, got {value!r}."
            )
        return value


class SourceArchiveRepackField(StringField):
    alias = "repack"
    help = help_text(
        """
        Set when the pinned file is not the upstream release but a repack of it (e.g. a Debian
        `+dfsg` tarball with non-free files removed): say what differs. It is reported with the
        pin, so that a build's metadata tells a repack from a pristine upstream archive.
        """
    )


class SourceArchivePatchesField(MultipleSourcesField):
    alias = "patches"
    expected_file_extensions = (".patch", ".diff")
    uses_source_roots = False
    help = help_text(
        """
        Patch files applied, in the order given, to the extracted archive before building
        (`patch -p1`).
        """
    )


class SourceArchiveDebianSourcePackageField(StringField):
    alias = "debian_source_package"
    help = help_text(
        """
        The Debian source package in whose pool directory `debian_orig` is, where the file's
        name does not start with it: a binary package's `.deb`, e.g.
        `libcrypt-dev_4.4.18-4_arm64.deb`, built from `libxcrypt`.
        """
    )


class SourceArchiveTarget(Target):
    alias = "source_archive"
    core_fields = (
        *COMMON_TARGET_FIELDS,
        SourceArchiveVersionField,
        SourceArchiveSha256Field,
        SourceArchiveSizeField,
        SourceArchiveLicenseField,
        SourceArchiveUrlsField,
        SourceArchiveFilenameField,
        SourceArchiveDebianOrigField,
        SourceArchiveDebianSourcePackageField,
        SourceArchivePyPIProjectField,
        SourceArchiveRepackField,
        SourceArchivePatchesField,
    )
    help = help_text(
        """
        A pinned upstream source archive: what it is (version, license), how to recognise it
        (sha256, size) and where it can be found (upstream URLs, a Debian source package, a PyPI
        project, and the mirrors configured in `[source-mirrors]`). Nothing is built from a file
        whose sha256 and size differ from the pin.
        """
    )

    def validate(self) -> None:
        if not self[SourceArchiveUrlsField].value and not self[SourceArchiveFilenameField].value:
            raise InvalidFieldException(
                f"{self.address} needs `urls` or `filename`: without either its archive cannot "
                "be looked up in a mirror."
            )


def target_types() -> list[Any]:
    return [SourceArchiveTarget]
