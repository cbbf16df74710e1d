from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path
from typing import Iterator

import pytest
from pants.backend.python.subsystems.repos import PythonRepos
from pants.core.util_rules import adhoc_binaries, system_binaries
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
            *PythonRepos.rules(),
            *adhoc_binaries.rules(),
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
    pypi_project="Foo_Project",
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


@pytest.fixture
def package_index(tmp_path: Path) -> Iterator[str]:
    """A real package index on a loopback port, serving `tmp_path` (PEP 503 pages as index.html)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def project_page(index_root: Path, html: str) -> None:
    """The index's page of the pin's project (PEP 503: under its normalized name)."""
    page = index_root / "simple/foo-project/index.html"
    page.parent.mkdir(parents=True)
    page.write_text(html)


def test_package_index(rule_runner: RuleRunner, package_index: str, tmp_path: Path) -> None:
    # The project page (PEP 503, the normalized name) links to where the index stores the file.
    (tmp_path / "files/a1").mkdir(parents=True)
    (tmp_path / "files/a1/foo-1.0.tar.gz").write_bytes(CONTENT)
    project_page(
        tmp_path, f'<a href="../../files/a1/foo-1.0.tar.gz#sha256={SHA256}">foo-1.0.tar.gz</a>'
    )
    # The first index has no such project: the next one is asked.
    rule_runner.set_options(
        [
            "--source-mirrors-mirrors=['upstream', 'pypi']",
            f"--python-repos-indexes=['{package_index}/missing/', '{package_index}/simple/']",
        ]
    )
    fetched = fetch_foo(rule_runner)
    assert fetched.origin.mirror == "pypi"
    assert fetched.origin.url == f"{package_index}/files/a1/foo-1.0.tar.gz"
    [file] = rule_runner.request(DigestContents, [fetched.digest])
    assert (file.path, file.content) == ("foo-1.0.tar.gz", CONTENT)


def test_package_index_without_the_file(
    rule_runner: RuleRunner, package_index: str, tmp_path: Path
) -> None:
    project_page(tmp_path, '<a href="../../files/foo-0.9.tar.gz">foo-0.9.tar.gz</a>')
    rule_runner.set_options(
        ["--source-mirrors-mirrors=['pypi']", f"--python-repos-indexes=['{package_index}/simple/']"]
    )
    with pytest.raises(ExecutionError) as error:
        fetch_foo(rule_runner)
    assert (
        f"- {package_index}/simple/foo-project/: foo-1.0.tar.gz is not among the project's files"
        in str(error.value)
    )


def test_package_index_serving_other_bytes(
    rule_runner: RuleRunner, package_index: str, tmp_path: Path
) -> None:
    project_page(tmp_path, '<a href="../../files/foo-1.0.tar.gz">foo-1.0.tar.gz</a>')
    (tmp_path / "files").mkdir()
    (tmp_path / "files/foo-1.0.tar.gz").write_bytes(TAMPERED)
    put(rule_runner, "mirror/foo-1.0.tar.gz", CONTENT)
    # The tampered file stops the search: the mirror after it is not consulted.
    rule_runner.set_options(
        [
            "--source-mirrors-mirrors=['pypi', 'mirror']",
            f"--python-repos-indexes=['{package_index}/simple/']",
        ]
    )
    with pytest.raises(ExecutionError) as error:
        fetch_foo(rule_runner)
    message = str(error.value)
    assert (
        "Checksum mismatch for the source archive foo-1.0.tar.gz of sources/foo:foo, from "
        f"{package_index}/files/foo-1.0.tar.gz ([source-mirrors] entry `pypi`)" in message
    )
    assert f"got sha256 {hashlib.sha256(TAMPERED).hexdigest()}" in message


def test_mirror_groups() -> None:
    assert fetch.mirror_groups(["a", "b", "pypi", "c", "pypi"]) == (
        ("a", "b"),
        ("pypi",),
        ("c",),
        ("pypi",),
    )
    assert fetch.mirror_groups(["pypi", "upstream", "debian"]) == (
        ("pypi",),
        ("upstream", "debian"),
    )
