"""The component rules' checks of their inputs: each mistake is reported clearly, before
anything is built (no container runs in these tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pants.backend.python import register as python_backend
from pants.core import register as core_backend
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner

from cpython_fips.components import register as components
from cpython_fips.components.build import ComponentBuild
from cpython_fips.components.cpython import CPythonBuild, CPythonFieldSet
from cpython_fips.components.libraries import StaticLibraryFieldSet
from cpython_fips.toolchain import register as toolchain
from cpython_fips.upstream import register as upstream

PIN = """source_archive(name="{name}", version="{version}", sha256="{sha}", size=1,
    urls=["file:///nonexistent/{name}.tar.xz"], license="MIT")"""
BUILD = "\n".join(
    [
        PIN.format(name="cpython-3.12", version="3.12.14", sha="0" * 64),
        PIN.format(name="cpython-3.13", version="3.13.15", sha="1" * 64),
        PIN.format(name="zlib-src", version="1.3.1", sha="2" * 64),
        """openssl(name="openssl", toolchain="//:tc", source=":zlib-src")""",
        """static_library(name="zlib", toolchain="//:tc", source=":zlib-src",
            libraries=[":cpython-3.13"])""",
        """cpython(name="py312-ft", toolchain="//:tc", source=":cpython-3.12",
            flavour="freethreaded+noopt", openssl=":openssl")""",
        """cpython(name="py313", toolchain="//:tc", source=":cpython-3.13", flavour="noopt",
            openssl=":openssl")""",
        """cpython(name="py313-bad-openssl", toolchain="//:tc", source=":cpython-3.13",
            flavour="noopt", openssl=":zlib")""",
    ]
)


@pytest.fixture
def rule_runner() -> RuleRunner:
    rule_runner = RuleRunner(
        rules=[
            *components.rules(),
            *toolchain.rules(),
            *upstream.rules(),
            *core_backend.rules(),
            *python_backend.rules(),
            QueryRule(CPythonBuild, [CPythonFieldSet]),
            QueryRule(ComponentBuild, [StaticLibraryFieldSet]),
        ],
        target_types=[
            *components.target_types(),
            *toolchain.target_types(),
            *upstream.target_types(),
            *core_backend.target_types(),
        ],
    )
    rule_runner.write_files({"BUILD": BUILD, "build.sh": "exit 1\n"})
    return rule_runner


def build_error(rule_runner: RuleRunner, field_set_type: Any, name: str) -> str:
    target = rule_runner.get_target(Address("", target_name=name))
    result_type = CPythonBuild if field_set_type is CPythonFieldSet else ComponentBuild
    with pytest.raises(ExecutionError) as error:
        rule_runner.request(result_type, [field_set_type.create(target)])
    return str(error.value)


def test_freethreaded_needs_313(rule_runner: RuleRunner) -> None:
    message = build_error(rule_runner, CPythonFieldSet, "py312-ft")
    assert "'freethreaded+noopt' needs CPython 3.13 or later, not 3.12" in message


def test_openssl_field_must_name_an_openssl_target(rule_runner: RuleRunner) -> None:
    message = build_error(rule_runner, CPythonFieldSet, "py313-bad-openssl")
    assert (
        "//:zlib, named by the `openssl` field of //:py313-bad-openssl, is of the target type "
        "`static_library`, not `openssl`" in message
    )


def test_libraries_must_be_static_libraries(rule_runner: RuleRunner) -> None:
    message = build_error(rule_runner, StaticLibraryFieldSet, "zlib")
    assert (
        "//:cpython-3.13, named by the `libraries` field of //:zlib, is of the target type "
        "`source_archive`, not `static_library`" in message
    )


def test_missing_local_source_tree(rule_runner: RuleRunner, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-tree"
    rule_runner.set_options([f"--cpython-build-local-source-trees={{'3.13': '{missing}'}}"])
    message = build_error(rule_runner, CPythonFieldSet, "py313")
    assert f"Cannot read the source tree {missing}" in message
    assert "[cpython-build].local_source_trees['3.13']" in message


def test_local_source_tree_must_be_cpython(rule_runner: RuleRunner, tmp_path: Path) -> None:
    (tmp_path / "README").write_text("not CPython")
    rule_runner.set_options([f"--cpython-build-local-source-trees={{'3.13': '{tmp_path}'}}"])
    message = build_error(rule_runner, CPythonFieldSet, "py313")
    assert f"{tmp_path}, named by [cpython-build].local_source_trees['3.13'], is not" in message
