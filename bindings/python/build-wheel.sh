#!/bin/sh
# Builds a wheel of the Python binding that bundles liblic, tagged for this
# platform (py3-none-<platform>: it carries native code but no Python ABI).
# Usage: bindings/python/build-wheel.sh [LIBRARY_PATH] [OUT_DIR] [PLATFORM_TAG]
#   LIBRARY_PATH  default target/release/liblic.so (.dylib, lic.dll), built
#                 with `cargo build --release -p lic` when missing
#   OUT_DIR       default bindings/python/dist
#   PLATFORM_TAG  the wheel's platform tag when the library is for another
#                 platform than this one (win_amd64, linux_aarch64)
# Works on a temporary copy of the package, so the source tree stays clean.
# Prints the wheel's path.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=${PYTHON:-python3}
name=$("$py" -c 'import sys; print({"darwin": "liblic.dylib", "win32": "lic.dll"}.get(sys.platform, "liblic.so"))')

lib=${1:-${CARGO_TARGET_DIR:-$root/target}/release/$name}
# A library named on the command line keeps its own name (lic.dll for a
# Windows wheel built here), so the package finds it as lic/_native.py looks.
case $(basename "$lib") in liblic.so | liblic.dylib | lic.dll) name=$(basename "$lib") ;; esac
out=${2:-$here/dist}
if [ $# -eq 0 ] && [ ! -f "$lib" ]; then
  (cd "$root" && cargo build --release -p lic)
fi
[ -f "$lib" ] || { echo "build-wheel.sh: no library at $lib" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src" "$tmp/wheel"
cp "$here/pyproject.toml" "$here/setup.py" "$here/README.md" "$tmp/src/"
cp -R "$here/lic" "$tmp/src/lic"
rm -rf "$tmp/src/lic/__pycache__" "$tmp/src/lic/liblic.so" "$tmp/src/lic/liblic.dylib" "$tmp/src/lic/lic.dll"
cp "$lib" "$tmp/src/lic/$name"

# --no-build-isolation: the installed setuptools and wheel, no package index.
"$py" -m pip wheel --quiet --no-deps --no-build-isolation --disable-pip-version-check \
  --wheel-dir "$tmp/wheel" "$tmp/src" >&2
if [ -n "${3:-}" ]; then
  "$py" -m wheel tags --remove --platform-tag "$3" "$tmp/wheel"/*.whl >&2
fi
for whl in "$tmp/wheel"/*.whl; do
  mv -f "$whl" "$out/"
  echo "$out/$(basename "$whl")"
done
