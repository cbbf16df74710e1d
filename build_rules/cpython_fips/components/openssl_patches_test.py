"""The patches of a pin reach the build script that uses it: the real rules run the real
sources/openssl/build.sh in the real x86_64 toolchain, on a stand-in OpenSSL release whose
Configure shows the patched tree and stops the build there. A patched FIPS provider is refused
before anything is built."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest
from pants.backend.python import register as python_backend
from pants.backend.shell import register as shell_backend
from pants.core import register as core_backend
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner

from cpython_fips.components import register as components
from cpython_fips.components.build import ComponentBuild
from cpython_fips.components.openssl import OpenSSLFieldSet
from cpython_fips.toolchain import register as toolchain
from cpython_fips.toolchain_testutil import copy_repo_files, set_options
from cpython_fips.upstream import register as upstream

# Configure shows what the patch changed, then fails: nothing after it needs to run.
CONFIGURE = '#!/bin/sh\necho "Configure sees: $(cat greeting.txt)"\nexit 3\n'
PATCH = """--- a/greeting.txt
+++ b/greeting.txt
@@ -1 +1 @@
-as released
+patched by the pin
"""


def release(path: Path, name: str) -> str:
    """A tar.gz shaped like an OpenSSL 3 release; returns the lines of its pin."""
    files = {
        "VERSION.dat": b"MAJOR=9\nMINOR=9\nPATCH=9\n",
        "Configure": CONFIGURE.encode(),
        "greeting.txt": b"as released\n",
        # The files inside the FIPS boundary, as a release lists them.
        "providers/fips.module.sources": b"greeting.txt\n",
    }
    with tarfile.open(path, "w:gz") as archive:
        for file_name, content in files.items():
            info = tarfile.TarInfo(f"{name}/{file_name}")
            info.size, info.mode = len(content), 0o755
            archive.addfile(info, io.BytesIO(content))
    data = path.read_bytes()
    return (
        f'version="9.9.9", urls=["file://{path}"], sha256="{hashlib.sha256(data).hexdigest()}", '
        f'size={len(data)}, license="Apache-2.0"'
    )


@pytest.fixture
def rule_runner(tmp_path: Path) -> RuleRunner:
    rule_runner = RuleRunner(
        rules=[
            *components.rules(),
            *toolchain.rules(),
            *upstream.rules(),
            *core_backend.rules(),
            *python_backend.rules(),
            QueryRule(ComponentBuild, [OpenSSLFieldSet]),
        ],
        target_types=[
            *components.target_types(),
            *toolchain.target_types(),
            *upstream.target_types(),
            *core_backend.target_types(),
            *python_backend.target_types(),
            # The runner's BUILD file also declares its scripts as shell sources.
            *shell_backend.target_types(),
        ],
    )
    copy_repo_files(rule_runner)
    copy_repo_files(rule_runner, ["sources/openssl/build.sh", "sources/openssl/openssl-fips.cnf"])
    libraries = release(tmp_path / "openssl-9.9.9.tar.gz", "openssl-9.9.9")
    provider = release(tmp_path / "openssl-fips-9.9.9.tar.gz", "openssl-fips-9.9.9")
    rule_runner.write_files(
        {
            "sources/openssl/0001-greeting.patch": PATCH,
            "sources/openssl/BUILD": f"""
# The fake releases' Configure compiles nothing: no sysroot.
NO_COMPILER = {{"TARGET_TRIPLE": "x86_64-linux-gnu", "SYSROOT": "/nonexistent"}}
source_archive(name="patched", {libraries}, patches=["0001-greeting.patch"])
source_archive(name="provider-release", {provider}, patches=["0001-greeting.patch"])
openssl(name="openssl", toolchain="sources/toolchain:linux-x86_64", source=":patched",
    files=["openssl-fips.cnf"], env=NO_COMPILER)
openssl(name="patched-provider", toolchain="sources/toolchain:linux-x86_64", source=":patched",
    fips_provider_source=":provider-release", files=["openssl-fips.cnf"], env=NO_COMPILER)
""",
        }
    )
    set_options(rule_runner)
    return rule_runner


def build_error(rule_runner: RuleRunner, name: str) -> str:
    target = rule_runner.get_target(Address("sources/openssl", target_name=name))
    with pytest.raises(ExecutionError) as error:
        rule_runner.request(ComponentBuild, [OpenSSLFieldSet.create(target)])
    return str(error.value)


def test_the_pins_patches_are_applied(rule_runner: RuleRunner) -> None:
    message = build_error(rule_runner, "openssl")
    assert "applying patch 0001-greeting.patch" in message
    assert "Configure sees: patched by the pin" in message
    # Without a separate provider release, the patched one's provider is shipped: build.sh warns
    # when a patch changes a file inside the FIPS boundary.
    assert "changes FIPS module sources: greeting.txt" in message


def test_a_patched_fips_provider_is_refused(rule_runner: RuleRunner) -> None:
    message = build_error(rule_runner, "patched-provider")
    assert "the FIPS provider's pin has patches" in message
    assert "Configure sees" not in message
