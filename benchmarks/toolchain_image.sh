#!/usr/bin/env bash
# Time to make a toolchain image from nothing, side by side: its .debs from Debian's archive, then
# from a mirror directory written by `./pants export-mirror`. Each run starts with the image
# removed and a new, empty Pants store, so every .deb is fetched again (and Pants' own tool PEX is
# built again: the same overhead in both). Usage (root): benchmarks/toolchain_image.sh [NAME]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name="${1:-linux-x86_64}"
target="sources/toolchain:$name"
tag="cpython-fips/toolchain-$name:$(sha256sum "sources/toolchain/$name.lock" | cut -c1-32)"
mirror="$PWD/artifacts/benchmark-mirror"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

./pants --no-pantsd --export-mirror-destination="$mirror" export-mirror "$target" >/dev/null

make_cold() {  # LABEL MIRRORS
    local label=$1 mirrors=$2 start
    docker image rm "$tag" >/dev/null 2>&1 || true
    start=$(date +%s.%N)
    ./pants --no-pantsd --local-store-dir="$scratch/store-$label" \
        --source-mirrors-mirrors="$mirrors" make-toolchain-image "$target" >/dev/null
    printf '%-18s %6.1f s\n' "$label" "$(echo "$(date +%s.%N) - $start" | bc)"
}
echo "cold image of $target ($(grep -vc '^#' "sources/toolchain/$name.lock") packages):"
make_cold debian-archive "['debian']"
make_cold mirror-directory "['$mirror']"
echo "image size: $(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec)"
