"""Docker images of the toolchain targets, for tests that run what the build produced."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from pants_launcher_test import REPO, pants


def image_tag(name: str, lock: Path) -> str:
    """The tag of the image of toolchain target `name` with lock `lock` (as the build names it)."""
    return f"cpython-fips/toolchain-{name}:{hashlib.sha256(lock.read_bytes()).hexdigest()[:32]}"


def toolchain_image(name: str) -> str:
    """The tag of `sources/toolchain:<name>`'s image."""
    return image_tag(name, REPO / f"sources/toolchain/{name}.lock")


def ensure_image(name: str) -> str:
    """The tag of `sources/toolchain:<name>`'s image, made from its lock if it is missing
    (needs root and debootstrap, as the build itself does)."""
    tag = toolchain_image(name)
    present = subprocess.run(["docker", "image", "inspect", tag], capture_output=True)
    if present.returncode != 0:
        made = pants("make-toolchain-image", f"sources/toolchain:{name}", timeout=900)
        assert made.returncode == 0, f"making {tag} failed:\n{made.stderr[-3000:]}"
        assert made.stdout.split() == [tag]
    return tag
