"""Running a process whose failure is an error of ours, reported with its output."""

from __future__ import annotations

from typing import Type

from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get


def raise_if_failed(
    result: FallibleProcessResult, error_type: Type[Exception], failure: str
) -> FallibleProcessResult:
    """`result` if it succeeded; else raises `error_type`: `failure`, the exit code, and what the
    process printed on stderr (where our tools say what went wrong and where the full log is)."""
    if result.exit_code != 0:
        raise error_type(
            f"{failure} (exit code {result.exit_code}).\n"
            f"{result.stderr.decode(errors='replace').rstrip()}"
        )
    return result


async def run_or_raise(
    process: Process, error_type: Type[Exception], failure: str
) -> FallibleProcessResult:
    """Runs `process` (or takes its result from a cache); raises as `raise_if_failed` does."""
    result = await Get(FallibleProcessResult, Process, process)
    return raise_if_failed(result, error_type, failure)
