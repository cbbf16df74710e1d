"""The Python tools our rules run as processes (container runner, packager): a `pex_binary`
target of the `tools` resolve, named by an option, built as a VenvPex."""

from __future__ import annotations

from pants.backend.python.target_types import (
    PexEntryPointField,
    ResolvedPexEntryPoint,
    ResolvePexEntryPointRequest,
)
from pants.backend.python.util_rules.pex import VenvPex
from pants.backend.python.util_rules.pex_from_targets import PexFromTargetsRequest
from pants.engine.addresses import Address, AddressInput
from pants.engine.rules import Get
from pants.engine.target import WrappedTarget, WrappedTargetRequest


async def build_tool_pex(spec: str, option: str, output_filename: str) -> VenvPex:
    """The VenvPex of the `pex_binary` at `spec`, the value of `option`."""
    origin = f"the option `{option}`"
    address = await Get(
        Address, AddressInput, AddressInput.parse(spec, description_of_origin=origin)
    )
    wrapped = await Get(WrappedTarget, WrappedTargetRequest(address, description_of_origin=origin))
    entry_point = await Get(
        ResolvedPexEntryPoint, ResolvePexEntryPointRequest(wrapped.target[PexEntryPointField])
    )
    return await Get(
        VenvPex,
        PexFromTargetsRequest(
            [address], output_filename=output_filename, internal_only=True, main=entry_point.val
        ),
    )
