"""The GitHub Actions workflows and their local action pass two linters: the schemas of workflow
and action files (SchemaStore's, shipped in check-jsonschema) and zizmor's offline audits
(expression injection, permissions, credentials, unpinned actions). Each linter is also shown a
broken workflow, so that a linter that checks nothing would fail here."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import List

import pytest

GITHUB = Path(".github")
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTIONS = sorted((GITHUB / "actions").glob("*/action.yml"))
CHECK_JSONSCHEMA = "tests.workflows/check-jsonschema.pex"
ZIZMOR = "tests.workflows/zizmor.pex"


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def check_schema(schema: str, files: List[Path]) -> subprocess.CompletedProcess:
    return run(CHECK_JSONSCHEMA, "--builtin-schema", schema, *map(str, files))


def zizmor(path: Path) -> subprocess.CompletedProcess:
    return run(
        ZIZMOR, "--offline", "--no-progress", "--config", str(GITHUB / "zizmor.yml"), str(path)
    )


def test_the_workflows_are_there() -> None:
    assert [path.name for path in WORKFLOWS] == [
        "build.yml",
        "linux.yml",
        "macos.yml",
        "refresh-locks.yml",
        "release.yml",
    ]
    assert [path.parent.name for path in ACTIONS] == ["setup-pants"]


def test_workflows_match_the_schema() -> None:
    checked = check_schema("vendor.github-workflows", WORKFLOWS)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_actions_match_the_schema() -> None:
    checked = check_schema("vendor.github-actions", ACTIONS)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_zizmor_finds_nothing() -> None:
    audited = zizmor(GITHUB)
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "No findings to report" in audited.stdout + audited.stderr


BROKEN_SCHEMA = """\
on: push
jobs:
  build:
    runs_on: ubuntu-24.04
    steps:
      - run: make
"""

INJECTION = """\
on: pull_request
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-24.04
    permissions: {}
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
"""


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    workflows = tmp_path / ".github/workflows"
    workflows.mkdir(parents=True)
    return workflows


def test_schema_check_rejects_a_misspelt_key(broken: Path) -> None:
    (broken / "ci.yml").write_text(BROKEN_SCHEMA)
    checked = check_schema("vendor.github-workflows", [broken / "ci.yml"])
    assert checked.returncode != 0
    assert "runs_on" in checked.stdout + checked.stderr


def test_zizmor_rejects_an_expression_injection(broken: Path) -> None:
    (broken / "ci.yml").write_text(INJECTION)
    audited = zizmor(broken / "ci.yml")
    assert audited.returncode != 0
    assert "template-injection" in audited.stdout + audited.stderr
