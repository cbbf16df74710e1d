from __future__ import annotations

from typing import Any, Dict

import pytest
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import RuleRunner

from cpython_fips.upstream.pins import SourceArchivePin
from cpython_fips.upstream.target_types import SourceArchiveTarget

VALID: Dict[str, Any] = dict(version="1", sha256="a" * 64, size=3, license="MIT")


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(target_types=[SourceArchiveTarget])


def build_file(**fields: object) -> str:
    return "source_archive(name='x', " + ", ".join(f"{k}={v!r}" for k, v in fields.items()) + ")"


def test_filename_defaults_to_the_first_url(rule_runner: RuleRunner) -> None:
    rule_runner.write_files(
        {"p/BUILD": build_file(**VALID, urls=["https://a/x-1.tar.gz?dl=1", "https://b/other.tgz"])}
    )
    pin = SourceArchivePin.from_target(rule_runner.get_target(Address("p", target_name="x")))
    assert pin.filename == "x-1.tar.gz"


@pytest.mark.parametrize(
    "fields, error",
    [
        (
            {**VALID, "sha256": "A" * 64, "urls": ["https://a/x"]},
            "must be 64 lower-case hex digits",
        ),
        ({**VALID, "size": 0, "urls": ["https://a/x"]}, "must be positive"),
        (
            {**VALID, "debian_orig": "x.tar.gz", "urls": ["https://a/x"]},
            "must name a Debian `.orig`",
        ),
        (VALID, "needs `urls` or `filename`"),
    ],
)
def test_invalid_pins_are_rejected(rule_runner: RuleRunner, fields: dict, error: str) -> None:
    rule_runner.write_files({"p/BUILD": build_file(**fields)})
    with pytest.raises(ExecutionError, match=error):
        rule_runner.get_target(Address("p", target_name="x"))
