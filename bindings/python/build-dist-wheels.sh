#!/bin/sh
# Builds the wheels a package index takes, from the release archives that
# scripts/dist made, into OUT_DIR (default bindings/python/dist):
#   lic-<v>-py3-none-manylinux_<policy>_x86_64.whl   from lic-<v>-linux-x64
#   lic-<v>-py3-none-manylinux_<policy>_aarch64.whl  from lic-<v>-linux-arm64
#   lic-<v>-py3-none-win_amd64.whl                   from lic-<v>-win-x64 (bundles lic.dll)
# The Linux wheels are checked and tagged by `auditwheel repair`, which picks
# the oldest manylinux policy the library's glibc symbol versions meet, and
# prints `auditwheel show` for each. Needs the wheel and auditwheel packages
# (pip; scripts/test installs them) and patchelf.
# Usage: bindings/python/build-dist-wheels.sh [DIST_DIR] [OUT_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-python3}
dist=$(cd "${1:-$root/dist}" && pwd)
out=${2:-$here/dist}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for platform in linux-x64 linux-arm64 win-x64; do
  name=lic-$version-$platform
  case $platform in
    win-x64)
      (cd "$tmp" && "$py" -m zipfile -e "$dist/$name.zip" .)
      sh "$here/build-wheel.sh" "$tmp/$name/bin/lic.dll" "$out" win_amd64
      ;;
    *)
      tar -xzf "$dist/$name.tar.gz" -C "$tmp"
      arch=x86_64; [ "$platform" = linux-arm64 ] && arch=aarch64
      raw=$(sh "$here/build-wheel.sh" "$tmp/$name/lib/liblic.so" "$tmp/raw-$platform" "linux_$arch")
      "$py" -m auditwheel show "$raw" >&2
      "$py" -m auditwheel repair --wheel-dir "$out" "$raw" >&2
      ls "$out"/lic-"$version"-py3-none-manylinux*_"$arch".whl
      ;;
  esac
done
