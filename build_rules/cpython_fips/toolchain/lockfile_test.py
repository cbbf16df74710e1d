from __future__ import annotations

import pytest

from cpython_fips.toolchain.lockfile import LockfileError, parse_lockfile
from cpython_fips.toolchain.packages import package_request

SHA = "a" * 64
REGENERATE = "./pants generate-toolchain-lock sources/toolchain:x"
HEADER = """\
# cpython-fips toolchain lock, format 2. Written by lock.sh; do not edit by hand.
# suite: bookworm
# suites: bookworm bookworm-security
"""
LINE = (
    f"libc6 2.36-9+deb12u13 amd64 {SHA} 2757936 optional "
    "pool/updates/main/g/glibc/libc6_2.36-9+deb12u13_amd64.deb"
)


def test_parses_header_and_packages() -> None:
    lock = parse_lockfile("x.lock", HEADER + LINE + "\n", REGENERATE)
    assert lock.suites == ("bookworm", "bookworm-security")
    [package] = lock.packages
    assert str(package) == "libc6 2.36-9+deb12u13 amd64"
    assert package.filename == "libc6_2.36-9+deb12u13_amd64.deb"
    assert (package.sha256, package.size) == (SHA, 2757936)
    assert package.priority == "optional"


@pytest.mark.parametrize(
    "content, problem",
    [
        (
            HEADER.replace("format 2", "format 1") + LINE,
            "lock format 1, but this version reads format 2",
        ),
        ("adduser 3.134\n", "not a toolchain lock"),
        (HEADER + LINE.replace(SHA, "not-a-sha"), "line 4 is not 'name version arch sha256"),
        (HEADER + LINE.replace("pool/updates/main", "pool/../../etc"), "line 4 is not"),
        (HEADER, "it lists no packages"),
    ],
)
def test_bad_locks_say_how_to_regenerate(content: str, problem: str) -> None:
    with pytest.raises(LockfileError) as error:
        parse_lockfile("x.lock", content, REGENERATE)
    assert str(error.value).startswith("x.lock: ")
    assert problem in str(error.value)
    assert str(error.value).endswith(f"Regenerate the lock with `{REGENERATE}`.")


def test_package_locations_follow_the_mirrors_in_order() -> None:
    lock = parse_lockfile("sources/toolchain/x.lock", HEADER + LINE + "\n", REGENERATE)
    request = package_request(
        lock.packages[0],
        lock.path,
        ["upstream", "/srv/mirror", "debian", "https://cas.example/{sha256}"],
        ["http://deb.example/debian", "http://deb.example/debian-security"],
        "/repo",
    )
    assert [(location.mirror, location.url) for location in request.locations] == [
        ("/srv/mirror", "file:///srv/mirror/libc6_2.36-9+deb12u13_amd64.deb"),
        (
            "debian",
            "http://deb.example/debian/pool/updates/main/g/glibc/libc6_2.36-9+deb12u13_amd64.deb",
        ),
        (
            "debian",
            "http://deb.example/debian-security/pool/updates/main/g/glibc/"
            "libc6_2.36-9+deb12u13_amd64.deb",
        ),
        ("https://cas.example/{sha256}", f"https://cas.example/{SHA}"),
    ]
    assert request.filename == "libc6_2.36-9+deb12u13_amd64.deb"
    assert request.pin_source == "sources/toolchain/x.lock"
