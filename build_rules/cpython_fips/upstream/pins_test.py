from __future__ import annotations

import dataclasses

from pants.engine.addresses import Address

from cpython_fips.upstream.pins import (
    DEBIAN,
    PYPI,
    UPSTREAM,
    Location,
    SourceArchivePin,
    candidate_locations,
    debian_archive_uris,
    debian_pool_url,
)

PIN = SourceArchivePin(
    address=Address("sources/foo", target_name="foo"),
    version="1.2",
    filename="foo-1.2.tar.gz",
    sha256="ab" * 32,
    size=10,
    license="MIT",
    urls=("https://foo.example/foo-1.2.tar.gz", "https://alt.example/foo-1.2.tar.gz"),
    debian_orig="libfoo_1.2.orig.tar.gz",
    debian_source_package=None,
    pypi_project=None,
    repack=None,
)


def test_debian_pool_url() -> None:
    assert (
        debian_pool_url("http://archive.example/debian/", "openssl_3.5.7.orig.tar.gz")
        == "http://archive.example/debian/pool/main/o/openssl/openssl_3.5.7.orig.tar.gz"
    )
    assert (
        debian_pool_url("http://archive.example/debian-security", "openssl_3.0.22.orig.tar.gz")
        == "http://archive.example/debian-security/pool/updates/main/o/openssl/"
        "openssl_3.0.22.orig.tar.gz"
    )
    # Source packages named lib* are filed under a four-letter prefix.
    assert debian_pool_url("http://a/debian", "libffi_3.4.4.orig.tar.gz").endswith(
        "/pool/main/libf/libffi/libffi_3.4.4.orig.tar.gz"
    )
    # A binary package's .deb, in its source package's directory.
    assert debian_pool_url("http://a/debian", "libcrypt1_4.4.18-4_arm64.deb", "libxcrypt") == (
        "http://a/debian/pool/main/libx/libxcrypt/libcrypt1_4.4.18-4_arm64.deb"
    )


def test_locations_follow_the_configured_order() -> None:
    locations = candidate_locations(
        PIN,
        mirrors=["/srv/mirror", DEBIAN, "https://cas.example/{sha256}", UPSTREAM, "rel/dir"],
        debian_archives=["http://a/debian", "http://b/debian"],
        buildroot="/repo",
    )
    assert locations == (
        Location("/srv/mirror", "file:///srv/mirror/foo-1.2.tar.gz"),
        Location(DEBIAN, "http://a/debian/pool/main/libf/libfoo/libfoo_1.2.orig.tar.gz"),
        Location(DEBIAN, "http://b/debian/pool/main/libf/libfoo/libfoo_1.2.orig.tar.gz"),
        Location("https://cas.example/{sha256}", f"https://cas.example/{'ab' * 32}"),
        Location(UPSTREAM, "https://foo.example/foo-1.2.tar.gz"),
        Location(UPSTREAM, "https://alt.example/foo-1.2.tar.gz"),
        Location("rel/dir", "file:///repo/rel/dir/foo-1.2.tar.gz"),
    )


def test_template_placeholders() -> None:
    [location] = candidate_locations(
        PIN, ["file:///m/{name}/{version}/{filename}"], debian_archives=(), buildroot="/repo"
    )
    assert location.url == "file:///m/foo/1.2/foo-1.2.tar.gz"


def test_debian_entry_is_skipped_for_pins_without_debian_orig() -> None:
    pin = dataclasses.replace(PIN, debian_orig=None)
    assert candidate_locations(pin, [DEBIAN], ["http://a/debian"], "/repo") == ()


def test_debian_archive_uris_from_both_apt_formats() -> None:
    sources = """\
deb http://one.example/debian bookworm main
deb [arch=amd64 signed-by=/k.gpg] https://vendor.example/apt nodistro main
deb-src http://one.example/debian bookworm main
# deb http://commented.example/debian bookworm main

Types: deb
# a comment inside the stanza
URIs: http://two.example/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://two.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: https://vendor.example/cloud
Suites: cloud-sdk-bookworm
Components: main

Types: deb
URIs: http://disabled.example/debian
Suites: trixie
Enabled: no
"""
    assert debian_archive_uris(sources) == (
        "http://one.example/debian",
        "http://two.example/debian",
        "http://two.example/debian-security",
    )


def test_the_pypi_entry_has_no_urls() -> None:
    pin = dataclasses.replace(PIN, pypi_project="foo")
    locations = candidate_locations(pin, [PYPI, UPSTREAM], debian_archives=(), buildroot="/repo")
    assert [location.mirror for location in locations] == [UPSTREAM, UPSTREAM]
