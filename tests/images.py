"""Docker images of the toolchain targets, and running the archives in them, for tests of what
the build produced."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Dict, List, Mapping

from pants_launcher_test import REPO, pants


def image_tag(name: str, lock: Path) -> str:
    """The tag of the image of toolchain target `name` with lock `lock` (as the build names it)."""
    return f"cpython-fips/toolchain-{name}:{hashlib.sha256(lock.read_bytes()).hexdigest()[:32]}"


def toolchain_image(name: str) -> str:
    """The tag of `sources/toolchain:<name>`'s image."""
    return image_tag(name, REPO / f"sources/toolchain/{name}.lock")


def ensure_image(name: str) -> str:
    """The tag of `sources/toolchain:<name>`'s image, made from its lock if it is missing."""
    tag = toolchain_image(name)
    present = subprocess.run(["docker", "image", "inspect", tag], capture_output=True)
    if present.returncode != 0:
        made = pants("make-toolchain-image", f"sources/toolchain:{name}", timeout=900)
        assert made.returncode == 0, f"making {tag} failed:\n{made.stderr[-3000:]}"
        assert made.stdout.split() == [tag]
    return tag


def run_container(
    image: str,
    command: List[str],
    mounts: Mapping[Path, str] = {},
    env: Mapping[str, str] = {},
    timeout: int = 600,
) -> subprocess.CompletedProcess:
    """Runs `command` in a throwaway container of `image` without network, with host paths
    mounted read-only (`mounts`: host path -> path in the container)."""
    return subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            *(arg for host, inside in mounts.items() for arg in ("-v", f"{host}:{inside}:ro")),
            *(arg for name, value in env.items() for arg in ("-e", f"{name}={value}")),
            image,
            *command,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def archive_kind(name: str) -> str:
    """Which of a distribution's three archives a file name is: full, install_only or
    install_only_stripped."""
    for kind in ("install_only_stripped", "install_only"):
        if f"-{kind}-" in name:
            return kind
    return "full"


def fips_mode_env(prefix: str) -> Dict[str, str]:
    """FIPS mode, turned on as the README says, for the tree at `prefix` in a container."""
    return {
        "OPENSSL_CONF": f"{prefix}/share/ssl/openssl-fips.cnf",
        "OPENSSL_MODULES": f"{prefix}/share/ssl/ossl-modules",
    }
