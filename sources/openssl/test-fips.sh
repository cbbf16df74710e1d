#!/bin/bash
# Tests the FIPS setup of an OpenSSL output tree (build.sh's /out) after it has
# been moved: run it in a clean container with the tree mounted anywhere but
# /out, e.g. read-only at /in/openssl (the default; set OPENSSL_TREE otherwise).
#
#   docker run --rm --network none -v "$PWD/out:/in/openssl:ro" \
#       -v "$PWD/sources/openssl:/in/src:ro" IMAGE bash -euo pipefail /in/src/test-fips.sh
#
# Prints one PASS/FAIL line per check; exits 1 if any check failed. Needs bash,
# coreutils, and readelf and strip (binutils) for the tampering checks.
#
# A tree built for another architecture runs under an emulator, e.g. for aarch64:
#   OPENSSL_EMULATOR="qemu-aarch64 -L /usr/aarch64-linux-gnu" STRIP=aarch64-linux-gnu-strip
set -euo pipefail

readonly TREE=${OPENSSL_TREE:-/in/openssl}
read -ra EMULATOR <<<"${OPENSSL_EMULATOR:-}"
readonly STRIP=${STRIP:-strip}
readonly SCRATCH=/tmp/openssl-fips-test
# SHA-256 of "abc" (FIPS 180-2, appendix B.1).
readonly SHA256_ABC=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
failures=0

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
indent() { sed 's/^/    /'; }

# Runs TREE's openssl (under the emulator, if any).
openssl_in() {
    local tree=$1; shift
    "${EMULATOR[@]}" "$tree/bin/openssl" "$@"
}

# Runs TREE's openssl the way FIPS.md tells users to: both variables set.
fips_openssl() {
    local tree=$1; shift
    OPENSSL_CONF="$tree/ssl/openssl-fips.cnf" OPENSSL_MODULES="$tree/lib/ossl-modules" \
        openssl_in "$tree" "$@"
}

# Prints the status of the fips provider ("active", ...), or "absent". The
# listing may fail outright (config_diagnostics): that counts as not active.
fips_status() {
    local listing
    listing=$("$@" list -providers 2>&1) || true
    awk '/^  fips$/ { f = 1 } f && /status:/ { s = $2; exit } END { print s ? s : "absent" }' <<<"$listing"
}

# Succeeds if SHA-256 of "abc" can be computed and is right.
sha256_works() {
    local digest
    digest=$(printf abc | "$@" dgst -sha256 -r 2>/dev/null) || return 1
    [ "${digest%% *}" = "$SHA256_ABC" ]
}

# The integrity check the provider does when it loads: HMAC-SHA256 of fips.so,
# keyed with OpenSSL's default FIPS key, against module-mac in fipsmodule.cnf.
# Recomputed here (outside FIPS mode) to show why a tampered module is refused.
readonly FIPS_KEY=f4556650ac31d35461610bac4ed81b1a181b2d8a43ea2854cbae22ca74560813
module_mac_matches() {
    local tree=$1 expected actual
    expected=$(sed -n 's/^module-mac *= *//p' "$tree/ssl/fipsmodule.cnf" | tr -d ':')
    actual=$(OPENSSL_CONF=/dev/null openssl_in "$tree" mac -digest SHA256 \
        -macopt "hexkey:$FIPS_KEY" -in "$tree/lib/ossl-modules/fips.so" HMAC)
    [ -n "$expected" ] && [ "$expected" = "$actual" ]
}

# Copies the tree (the original is read-only and must stay intact).
copy_tree() {
    local copy=$SCRATCH/$1
    rm -rf "$copy"
    mkdir -p "$SCRATCH"
    cp -R "$TREE" "$copy"
    chmod -R u+w "$copy"
    echo "$copy"
}

# Inverts one byte in the middle of fips.so's .rodata: a region that the loader
# and the provider's start-up code do not depend on, so the change can only be
# noticed by the module's integrity check (the MAC in fipsmodule.cnf).
flip_byte() {
    local so=$1 off size pos old
    read -r off size < <(readelf -SW "$so" | sed 's/^ *\[ *[0-9]*\]//' | awk '$1 == ".rodata" { print $4, $5 }')
    pos=$((0x$off + 0x$size / 2))
    old=$(od -An -tu1 -j "$pos" -N1 "$so" | tr -d ' ')
    printf '%b' "\\0$(printf '%03o' $((old ^ 0xff)))" | dd of="$so" bs=1 seek="$pos" conv=notrunc status=none
    echo "    changed byte $pos of fips.so (.rodata) from $old to $((old ^ 0xff))"
}

# The FIPS provider must refuse to start; nothing may fall back to non-FIPS code.
expect_activation_failure() {
    local what=$1 tree=$2 status
    if module_mac_matches "$tree"; then
        fail "$what: fips.so still matches module-mac in fipsmodule.cnf: nothing was tampered with"
    else
        echo "    fips.so no longer matches module-mac in fipsmodule.cnf"
    fi
    status=$(fips_status fips_openssl "$tree")
    if [ "$status" = active ]; then
        fail "$what: the fips provider is still active"
    else
        pass "$what: the fips provider is not activated (status: $status)"
    fi
    if sha256_works fips_openssl "$tree"; then
        fail "$what: SHA-256 still works, from a provider that is not the checked fips.so"
    else
        pass "$what: SHA-256 is refused (fails closed)"
    fi
}

check_relocated() {
    local baked
    baked=$(openssl_in "$TREE" version -m | sed -n 's/^MODULESDIR: "\(.*\)"$/\1/p') || true
    echo "    tree: $TREE; modules directory baked into libcrypto: $baked"
    if [ -n "$baked" ] && [ "$baked" != "$TREE/lib/ossl-modules" ] && [ ! -e "$baked" ]; then
        pass "the tree runs from a path other than its build-time one"
    else
        fail "the tree is at its build-time location: relocation is not being tested"
    fi
}

check_module_mac() {
    if module_mac_matches "$TREE"; then
        pass "fips.so matches module-mac in ssl/fipsmodule.cnf"
    else
        fail "fips.so does not match module-mac in ssl/fipsmodule.cnf"
    fi
}

check_fips_active() {
    local status
    fips_openssl "$TREE" list -providers 2>&1 | indent || true
    status=$(fips_status fips_openssl "$TREE")
    if [ "$status" = active ]; then
        pass "with openssl-fips.cnf the fips provider is listed and active"
    else
        fail "with openssl-fips.cnf the fips provider is not active (status: $status)"
    fi
}

check_md5_refused() {
    if printf abc | fips_openssl "$TREE" dgst -md5 >/dev/null 2>&1; then
        fail "openssl dgst -md5 works in FIPS mode"
    else
        pass "openssl dgst -md5 is refused"
    fi
    # default_properties = fips=yes keeps MD5 out even when the default provider,
    # which has one, is loaded too.
    if printf abc | fips_openssl "$TREE" dgst -md5 -provider default >/dev/null 2>&1; then
        fail "openssl dgst -md5 works once the default provider is loaded: fips=yes is not the default query"
    else
        pass "openssl dgst -md5 is refused even with the default provider loaded (fips=yes)"
    fi
    # The default provider answers an explicit non-FIPS query (checksums, not security).
    if printf abc | fips_openssl "$TREE" dgst -md5 -propquery fips=no >/dev/null 2>&1; then
        pass "openssl dgst -md5 with the explicit query fips=no works (default provider)"
    else
        fail "openssl dgst -md5 -propquery fips=no is refused: the default provider is not active"
    fi
}

check_sha256_works() {
    if sha256_works fips_openssl "$TREE"; then
        pass "openssl dgst -sha256 works and gives the FIPS 180-2 test vector"
    else
        fail "openssl dgst -sha256 does not work in FIPS mode"
    fi
}

# The configuration without the second variable of FIPS.md.
openssl_without_modules_var() {
    (unset OPENSSL_MODULES; OPENSSL_CONF="$TREE/ssl/openssl-fips.cnf" openssl_in "$TREE" "$@")
}

# Forgetting OPENSSL_MODULES must not quietly give a non-FIPS libcrypto.
check_fails_closed_without_modules_var() {
    local status
    status=$(fips_status openssl_without_modules_var)
    if [ "$status" != active ] && ! sha256_works openssl_without_modules_var; then
        pass "without OPENSSL_MODULES the FIPS configuration fails closed (no provider, SHA-256 refused)"
    else
        fail "without OPENSSL_MODULES something still works (fips status: $status)"
    fi
}

check_flipped_byte() {
    local copy
    copy=$(copy_tree flipped-byte)
    flip_byte "$copy/lib/ossl-modules/fips.so"
    expect_activation_failure "one byte of fips.so changed" "$copy"
}

check_stripped() {
    local copy so
    copy=$(copy_tree stripped)
    so=$copy/lib/ossl-modules/fips.so
    "$STRIP" "$so"
    if cmp -s "$so" "$TREE/lib/ossl-modules/fips.so"; then
        fail "strip did not change fips.so (already stripped?): the check proves nothing"
        return
    fi
    echo "    stripped fips.so: $(stat -c %s "$TREE/lib/ossl-modules/fips.so") -> $(stat -c %s "$so") bytes"
    expect_activation_failure "stripped fips.so" "$copy"
}

main() {
    [ -x "$TREE/bin/openssl" ] || { echo "error: no OpenSSL tree at $TREE (set OPENSSL_TREE)" >&2; exit 2; }
    echo "Testing the FIPS setup of $TREE ($(openssl_in "$TREE" version))"
    check_relocated
    check_module_mac
    check_fips_active
    check_md5_refused
    check_sha256_works
    check_fails_closed_without_modules_var
    check_flipped_byte
    check_stripped
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) FAILED"
        exit 1
    fi
    echo "all checks passed"
}

main "$@"
