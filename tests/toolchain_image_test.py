"""Toolchain images made in containers (no debootstrap, no root on the host): the same lock gives
the same root filesystem, byte for byte, and making an image leaves nothing behind.

The image is made from a lock of its own (test-runtime's with a unique comment), so that it is
really made, twice; Docker's layer digest of an imported tar is the tar's sha256.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path
from typing import Iterator, List

import pytest
from toolchain_mirror_test import FIXTURE_DIR, lock_lines, run_in_image, write_fixture

from images import image_tag
from pants_launcher_test import REPO, pants

TEST_RUNTIME = "sources/toolchain:test-runtime"
LOCK_LABEL = "org.cpython-fips.toolchain-lock"


def inspect(tag: str) -> dict:
    result = subprocess.run(
        ["docker", "image", "inspect", tag], check=True, capture_output=True, text=True
    )
    [image] = json.loads(result.stdout)
    return image


def make(address: str) -> None:
    made = pants("make-toolchain-image", address, timeout=1200)
    assert made.returncode == 0, made.stderr[-5000:]


def leftovers(lock: Path) -> List[str]:
    """The throwaway images and containers of making `lock`'s image (other tests, running at the
    same time, make other images and run build steps)."""
    lock_sha256 = hashlib.sha256(lock.read_bytes()).hexdigest()
    images = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    containers = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={LOCK_LABEL}={lock_sha256}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    temporary = [
        image
        for image in images
        if image.startswith("cpython-fips/making-") and f":{lock_sha256[:32]}-" in image
    ]
    return temporary + containers


@pytest.fixture
def fixture_address() -> Iterator[str]:
    address = write_fixture("made-twice", [])
    tag = image_tag("made-twice", REPO / FIXTURE_DIR / "made-twice.lock")
    subprocess.run(["docker", "rmi", tag], capture_output=True)
    yield address
    subprocess.run(["docker", "rmi", tag], capture_output=True)


def test_same_lock_same_root_filesystem(fixture_address: str) -> None:
    address = fixture_address
    lock = REPO / FIXTURE_DIR / "made-twice.lock"
    tag = image_tag("made-twice", lock)

    make(address)
    first = inspect(tag)
    assert not leftovers(lock)
    subprocess.run(["docker", "rmi", tag], check=True, capture_output=True)
    # Made again; meanwhile its throwaway images and containers are seen (a positive control
    # of `leftovers`), and once it is done they are gone.
    making = subprocess.Popen(
        ["./pants", "--no-pantsd", "--no-dynamic-ui", "make-toolchain-image", address],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen_while_making = False
    while making.poll() is None and not seen_while_making:
        seen_while_making = bool(leftovers(lock))
        time.sleep(1)
    _, stderr = making.communicate(timeout=1200)
    assert making.returncode == 0, stderr[-5000:]
    assert seen_while_making
    assert not leftovers(lock)
    second = inspect(tag)

    # Made again (a new image, created later), with the same root filesystem.
    assert second["Id"] != first["Id"]
    assert second["RootFS"]["Layers"] == first["RootFS"]["Layers"]
    assert len(first["RootFS"]["Layers"]) == 1
    assert second["Architecture"] == "amd64"
    assert second["Config"]["Labels"]["org.cpython-fips.toolchain-lock"] == (
        subprocess.run(
            ["sha256sum", str(lock)], check=True, capture_output=True, text=True
        ).stdout.split()[0]
    )
    # Exactly the lock's packages, configured.
    installed = run_in_image(tag, "dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\\n'")
    expected = sorted(f"{name} {version} ii " for name, version, *_ in lock_lines(lock))
    assert sorted(line for line in installed.splitlines()) == expected

    # Positive control: another lock (the same packages without the comment) gives another root
    # filesystem: its /etc/apt/sources.list names its lock's sha256.
    make(TEST_RUNTIME)
    other = inspect(image_tag("test-runtime", REPO / "sources/toolchain/test-runtime.lock"))
    assert other["RootFS"]["Layers"] != second["RootFS"]["Layers"]
