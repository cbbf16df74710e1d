"""Linters Pants does not provide as we need them: ShellCheck from the machine's packages."""

from cpython_fips.lint import shellcheck


def rules():
    return shellcheck.rules()
