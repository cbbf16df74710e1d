#!/bin/bash
# Makes the tree of the install_only_stripped archive: /in/install with the debug information
# of every ELF file removed, except the FIPS module, whose integrity MAC covers every byte
# (a stripped fips.so refuses to load). Runs in the build's toolchain container; HOST_TRIPLE
# selects the cross binutils.
set -euo pipefail
# Bytes, not characters, for the ELF magic below.
export LC_ALL=C

# Native builds strip with LLVM's strip (the toolchain's one LLVM): GNU strip 2.40 turns an
# interpreter BOLT has rewritten into one that crashes at start (it warns that sections "can't be
# allocated in segment" and exits 0). Cross builds, which BOLT does not run on, keep their binutils.
if [ -n "${HOST_TRIPLE:-}" ]; then
    STRIP=$HOST_TRIPLE-strip
else
    llvm_strip=(/usr/lib/llvm-*/bin/llvm-strip)
    STRIP=${llvm_strip[0]}
    [ -x "$STRIP" ] || { echo "error: no LLVM strip in the toolchain ($STRIP)" >&2; exit 1; }
fi
readonly STRIP
readonly FIPS_MODULE=share/ssl/ossl-modules/fips.so
readonly TREE=/out/install

cp -a /in/install "$TREE"
chmod -R u+w "$TREE"
# Whether a file starts with the ELF magic, read by the shell itself: the tree has thousands of
# files (3.13's, with its tests, over 8000), and a process or three per file took minutes.
is_elf() {
    local magic=
    IFS= read -r -N 4 magic <"$1" 2>/dev/null || true
    [ "$magic" = $'\x7fELF' ]
}
count=0
while IFS= read -r -d '' file; do
    [ "$file" != "$TREE/$FIPS_MODULE" ] || continue
    if is_elf "$file"; then
        "$STRIP" --strip-debug "$file"
        count=$((count + 1))
    fi
done < <(find "$TREE" -type f -print0 | sort -z)
cmp "/in/install/$FIPS_MODULE" "$TREE/$FIPS_MODULE" || {
    echo "error: $FIPS_MODULE changed while stripping" >&2
    exit 1
}
echo "stripped the debug information of $count ELF files ($FIPS_MODULE left as built)"
du -sh /in/install "$TREE"
