#!/usr/bin/env bash
# Time to make a toolchain image from nothing: the image removed, the scratch directory new, the
# .debs downloaded again. Usage (root): benchmarks/toolchain_image.sh [TOOLCHAIN_NAME]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name="${1:-linux-x86_64}"
lock="sources/toolchain/$name.lock"
tag="cpython-fips/toolchain-$name:$(sha256sum "$lock" | cut -c1-32)"
docker image rm "$tag" >/dev/null 2>&1 || true
start=$(date +%s.%N)
TMPDIR="$(mktemp -d)" bash build_rules/cpython_fips/runner/make-image.sh "$lock" "$tag" >/dev/null
printf 'made %s in %.1f s; image size %s\n' "$tag" "$(echo "$(date +%s.%N) - $start" | bc)" \
  "$(docker image inspect -f '{{.Size}}' "$tag" | numfmt --to=iec)"
