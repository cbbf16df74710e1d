"""The Python provider backed by our distributions (README, "Using the interpreters in a
monorepo"): enable `cpython_fips.provider` in `[GLOBAL].backend_packages`."""

from cpython_fips.provider import rules as provider_rules
from cpython_fips.provider.subsystems import CPythonFipsProvider


def rules():
    return [*provider_rules.rules(), *CPythonFipsProvider.rules()]
