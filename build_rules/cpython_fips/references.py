"""Fields that name other targets, as dependency edges Pants sees, and their resolution.

A target that names its toolchain, its source archive, its libraries... through these fields has
those targets as dependencies: `./pants dependencies`, `peek`, `--changed-dependents` and the
engine's own address checks see them, as with the shell backend's `execution_dependencies`.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple, Type

from pants.engine.addresses import Address, Addresses
from pants.engine.rules import Get
from pants.engine.target import (
    Field,
    SpecialCasedDependencies,
    Target,
    Targets,
    UnparsedAddressInputs,
)


class TargetReferenceField(SpecialCasedDependencies):
    """Addresses of other targets, relative to the BUILD file's directory. A field that names
    one target takes a single address (a string) as well as a one-element list."""

    # The kind of target named, for messages, and a field every such target has.
    expected_kind: str
    expected_field: Type[Field]

    @classmethod
    def compute_value(cls, raw_value: Optional[Any], address: Address) -> Optional[Tuple[str, ...]]:
        if isinstance(raw_value, str):
            raw_value = (raw_value,)
        return super().compute_value(raw_value, address)


class ReferenceError(ValueError):
    pass


async def referenced_targets(field: TargetReferenceField) -> Tuple[Target, ...]:
    """The targets the field names; each must be of the field's expected kind."""
    addresses = await Get(Addresses, UnparsedAddressInputs, field.to_unparsed_address_inputs())
    targets = await Get(Targets, Addresses, addresses)
    for target in targets:
        if not target.has_field(field.expected_field):
            raise ReferenceError(
                f"{target.address}, named by the `{field.alias}` field of {field.address}, is of "
                f"the target type `{target.alias}`, not `{field.expected_kind}`."
            )
    return tuple(targets)


async def referenced_target(field: TargetReferenceField) -> Target:
    """The one target the field names."""
    targets = await referenced_targets(field)
    if len(targets) != 1:
        raise ReferenceError(
            f"The `{field.alias}` field of {field.address} must name exactly one "
            f"`{field.expected_kind}` target, not {len(targets)}."
        )
    return targets[0]
