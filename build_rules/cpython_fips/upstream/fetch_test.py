from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pants.core.util_rules import system_binaries
from pants.engine.addresses import Address
from pants.engine.fs import Digest, DigestContents
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner

from cpython_fips.upstream import fetch, fetch_goal
from cpython_fips.upstream.fetch import FetchedSourceArchive, SourceArchiveError
from cpython_fips.upstream.fetch_goal import FetchSources
from cpython_fips.upstream.pins import SourceArchivePin
from cpython_fips.upstream.subsystems import SourceMirrors
from cpython_fips.upstream.target_types import SourceArchiveTarget

CONTENT = b"the pinned archive\n" * 100
SHA256 = hashlib.sha256(CONTENT).hexdigest()
TAMPERED = CONTENT[:-2] + b"!\n"


@pytest.fixture
def rule_runner() -> RuleRunner:
    rule_runner = RuleRunner(
        rules=[
            *fetch.rules(),
            *fetch_goal.rules(),
            *SourceMirrors.rules(),
            *system_binaries.rules(),
            QueryRule(FetchedSourceArchive, [SourceArchivePin]),
            QueryRule(DigestContents, [Digest]),
        ],
        target_types=[SourceArchiveTarget],
    )
    rule_runner.write_files(
        {
            "sources/foo/BUILD": f"""
source_archive(
    name="foo",
    version="1.0",
    urls=["https://upstream.invalid/foo-1.0.tar.gz"],
    sha256="{SHA256}",
    size={len(CONTENT)},
    license="MIT",
    debian_orig="foo_1.0.orig.tar.gz",
)
"""
        }
    )
    return rule_runner


def set_mirrors(rule_runner: RuleRunner, *mirrors: str) -> None:
    rule_runner.set_options(
        [
            f"--source-mirrors-mirrors={list(mirrors)!r}",
            f"--source-mirrors-debian-archives=['file://{rule_runner.build_root}/debian']",
        ]
    )


def put(rule_runner: RuleRunner, relpath: str, content: bytes) -> None:
    path = Path(rule_runner.build_root, relpath)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def fetch_foo(rule_runner: RuleRunner) -> FetchedSourceArchive:
    target = rule_runner.get_target(Address("sources/foo", target_name="foo"))
    return rule_runner.request(FetchedSourceArchive, [SourceArchivePin.from_target(target)])


def test_good_checksum(rule_runner: RuleRunner) -> None:
    put(rule_runner, "mirror/foo-1.0.tar.gz", CONTENT)
    set_mirrors(rule_runner, "upstream", "mirror")
    fetched = fetch_foo(rule_runner)
    assert fetched.origin.mirror == "mirror"
    [file] = rule_runner.request(DigestContents, [fetched.digest])
    assert (file.path, file.content) == ("foo-1.0.tar.gz", CONTENT)


def test_wrong_checksum_names_pin_and_both_digests(rule_runner: RuleRunner) -> None:
    put(rule_runner, "bad/foo-1.0.tar.gz", TAMPERED)
    put(rule_runner, "good/foo-1.0.tar.gz", CONTENT)
    # A tampered file stops the search: the good mirror after it is not consulted.
    set_mirrors(rule_runner, "bad", "good")
    with pytest.raises(ExecutionError) as error:
        fetch_foo(rule_runner)
    message = str(error.value)
    assert "Checksum mismatch" in message
    assert "sources/foo:foo" in message
    assert f"expected sha256 {SHA256}" in message
    assert f"got sha256 {hashlib.sha256(TAMPERED).hexdigest()}" in message
    assert f"file://{rule_runner.build_root}/bad/foo-1.0.tar.gz" in message


def test_nothing_bad_is_cached(rule_runner: RuleRunner) -> None:
    put(rule_runner, "mirror/foo-1.0.tar.gz", TAMPERED)
    set_mirrors(rule_runner, "mirror")
    with pytest.raises(ExecutionError, match="Checksum mismatch"):
        fetch_foo(rule_runner)
    # Once the mirror holds the right file, the same request succeeds with the right content...
    put(rule_runner, "mirror/foo-1.0.tar.gz", CONTENT)
    set_mirrors(rule_runner, "mirror")
    [file] = rule_runner.request(DigestContents, [fetch_foo(rule_runner).digest])
    assert file.content == CONTENT
    # ...and from then on the pinned bytes come from the store, whatever the mirror holds.
    put(rule_runner, "mirror/foo-1.0.tar.gz", TAMPERED)
    set_mirrors(rule_runner, "mirror")
    [file] = rule_runner.request(DigestContents, [fetch_foo(rule_runner).digest])
    assert file.content == CONTENT


def test_mirror_order(rule_runner: RuleRunner) -> None:
    put(rule_runner, "first/foo-1.0.tar.gz", CONTENT)
    put(rule_runner, "second/foo-1.0.tar.gz", CONTENT)
    set_mirrors(rule_runner, "first", "second")
    assert fetch_foo(rule_runner).origin.mirror == "first"
    set_mirrors(rule_runner, "second", "first")
    assert fetch_foo(rule_runner).origin.mirror == "second"
    # A mirror without the file is skipped.
    set_mirrors(rule_runner, "empty", "upstream", "second")
    assert fetch_foo(rule_runner).origin.mirror == "second"


def test_lookup_by_sha256(rule_runner: RuleRunner) -> None:
    put(rule_runner, f"cas/{SHA256}", CONTENT)
    set_mirrors(rule_runner, f"file://{rule_runner.build_root}/cas/{{sha256}}")
    assert fetch_foo(rule_runner).origin.url == f"file://{rule_runner.build_root}/cas/{SHA256}"


def test_debian_pool(rule_runner: RuleRunner) -> None:
    put(rule_runner, "debian/pool/main/f/foo/foo_1.0.orig.tar.gz", CONTENT)
    set_mirrors(rule_runner, "upstream", "debian")
    fetched = fetch_foo(rule_runner)
    assert fetched.origin.mirror == "debian"
    # The file keeps the pin's name, whatever it is called in the mirror.
    [file] = rule_runner.request(DigestContents, [fetched.digest])
    assert file.path == "foo-1.0.tar.gz"


def test_missing_file_lists_every_attempt(rule_runner: RuleRunner) -> None:
    set_mirrors(rule_runner, "nowhere", "upstream", "debian")
    with pytest.raises(ExecutionError) as error:
        fetch_foo(rule_runner)
    message = str(error.value)
    assert SourceArchiveError.__name__ in message
    assert "Could not obtain the source archive foo-1.0.tar.gz for sources/foo:foo" in message
    for url in (
        f"file://{rule_runner.build_root}/nowhere/foo-1.0.tar.gz",
        "https://upstream.invalid/foo-1.0.tar.gz",
        f"file://{rule_runner.build_root}/debian/pool/main/f/foo/foo_1.0.orig.tar.gz",
    ):
        assert url in message


def test_fetch_sources_goal_reports_each_pin(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {
            "sources/bar/BUILD": f"""
source_archive(name="bar", version="2", filename="bar-2.tar.gz", sha256="{"0" * 64}", size=5,
               license="MIT", repack="a test repack")
"""
        }
    )
    put(rule_runner, "mirror/foo-1.0.tar.gz", CONTENT)
    result = rule_runner.run_goal_rule(
        FetchSources,
        args=["--source-mirrors-mirrors=['mirror']", "sources::"],
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "missing   sources/bar:bar 2 (bar-2.tar.gz, repack)"
    assert "obtained  sources/foo:foo 1.0 (foo-1.0.tar.gz)" in lines
    assert f"          from mirror: file://{rule_runner.build_root}/mirror/foo-1.0.tar.gz" in lines
    assert lines[-1] == "1 obtained, 1 not obtained."
