#!/bin/bash
# Runs each archive, as unpacked from its bytes under /in/unpacked/<kind>, in a container
# without development packages: imports, OpenSSL, relocation, venv and pip (check_install.py),
# then again in FIPS mode with the shipped configuration; and CPython's own regression tests from
# the full archive (the one that ships them), in both modes (regression_tests.py). Any failed
# check fails the step.
set -euo pipefail
: "${EXPECTED_OPENSSL_VERSION:?EXPECTED_OPENSSL_VERSION must be set, e.g. 3.5.7}"
: "${EXTENSION_MODULES:?EXTENSION_MODULES must name the list of required extension modules}"

here=$(dirname "$0")
failed=0
# RUNTIME_EMULATION (optional): how this container runs when its architecture is not the host's.
emulation=(${RUNTIME_EMULATION:+"--emulation=$RUNTIME_EMULATION"})

# Runs a command in FIPS mode, turned on as the README says, with the tree at $root.
in_fips_mode() {
    OPENSSL_CONF=$root/share/ssl/openssl-fips.cnf OPENSSL_MODULES=$root/share/ssl/ossl-modules "$@"
}

for unpacked in /in/unpacked/*; do
    kind=$(basename "$unpacked")
    # The full archive holds the tree under python/install, the others under python/.
    root=$unpacked/python/install
    [ -d "$root" ] || root=$unpacked/python
    interpreters=("$root"/bin/python3.*[0-9t])
    python=${interpreters[0]}
    echo "== $kind: $python"
    "$python" "$here/checks/check_install.py" "$EXTENSION_MODULES" "$EXPECTED_OPENSSL_VERSION" || failed=1
    echo "== $kind, FIPS mode"
    in_fips_mode "$python" "$here/checks/check_install.py" "$EXTENSION_MODULES" \
        "$EXPECTED_OPENSSL_VERSION" --fips || failed=1
    # The full archive ships the test package (the others do not): its regression tests run.
    [ "$root" = "$unpacked/python/install" ] || continue
    stdlib=$("$python" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')
    if [ ! -d "$stdlib/test" ]; then
        echo "FAIL: the full archive has no $stdlib/test: CPython's regression tests cannot run"
        failed=1
        continue
    fi
    echo "== $kind: CPython's regression tests"
    "$python" "$here/checks/regression_tests.py" "${emulation[@]}" || failed=1
    echo "== $kind: CPython's regression tests, FIPS mode"
    in_fips_mode "$python" "$here/checks/regression_tests.py" --fips "${emulation[@]}" || failed=1
done
[ "$failed" -eq 0 ] || { echo "error: a runtime check failed (FAIL lines above)" >&2; exit 1; }
echo "all runtime checks passed"
