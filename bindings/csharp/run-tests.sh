#!/bin/sh
# Builds the C# binding, its test harness and examples/csharp/NodeLocked.cs
# with mono's mcs and runs the harness against target/debug/liblic.so and a
# lic-devserver it starts. Installs mono when mcs/mono are missing.
# Usage: bindings/csharp/run-tests.sh [--bench [ITERATIONS]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}/debug

# System.Runtime.Serialization (DataContractJsonSerializer, for the fingerprint
# report) is part of netstandard2.0 but a package of its own in Debian's mono.
serialization=/usr/lib/mono/4.5/System.Runtime.Serialization.dll
if ! command -v mcs >/dev/null 2>&1 || ! command -v mono >/dev/null 2>&1 || [ ! -e "$serialization" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends mono-mcs mono-runtime \
    libmono-system-runtime-serialization4.0-cil
fi
if [ ! -e "$target/liblic.so" ] || [ ! -e "$target/lic-devserver" ]; then
  (cd "$root" && CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-1} cargo build -p lic -p lic-devserver)
fi

out=$(mktemp -d "${TMPDIR:-/tmp}/lic-csharp.XXXXXX")
trap 'rm -rf "$out"' EXIT INT TERM
mcs -nologo -langversion:7 -warnaserror -target:library -r:System.Runtime.Serialization.dll -out:"$out/Lic.dll" "$here"/src/*.cs
cp "$here/Lic.dll.config" "$out/"
mcs -nologo -langversion:7 -r:"$out/Lic.dll" -out:"$out/NodeLocked.exe" "$root/examples/csharp/NodeLocked.cs"
mcs -nologo -langversion:7 -r:"$out/Lic.dll" -r:System.Core.dll -r:System.Runtime.Serialization.dll -out:"$out/LicTests.exe" \
  "$here/tests/Tests.cs" "$here/tests/TestSupport.cs"

export LD_LIBRARY_PATH="$target${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LIC_REPO_ROOT="$root" LIC_DEVSERVER="$target/lic-devserver" LIC_EXAMPLE_EXE="$out/NodeLocked.exe"
if [ "${1:-}" = "--bench" ]; then
  mcs -nologo -langversion:7 -r:"$out/Lic.dll" -out:"$out/BenchOffline.exe" \
    "$here/tests/BenchOffline.cs" "$here/tests/TestSupport.cs"
  cd "$out" && exec mono BenchOffline.exe "${2:-2000}"
fi
cd "$out" && mono LicTests.exe
