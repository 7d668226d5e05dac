#!/bin/sh
# Builds Lic.<version>.nupkg from the binding and scripts/dist's archives,
# installs it from a local folder into a fresh consumer with Debian's nuget,
# builds examples/csharp/NodeLocked.cs against the installed package with
# mono's mcs, takes the native library from the package's
# runtimes/<rid>/native/ (as the .NET SDK does for the running RID), and runs
# the example against lic-devserver: first start activates, second is VALID,
# with no LD_LIBRARY_PATH or LIC_LIBRARY.
# Usage: bindings/csharp/test-package.sh [DIST_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dist=$(cd "${1:-$root/dist}" && pwd)
server=${LIC_DEVSERVER:-${CARGO_TARGET_DIR:-$root/target}/debug/lic-devserver}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
work=$(mktemp -d "${TMPDIR:-/tmp}/lic-nuget.XXXXXX")
pid=""
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM
fail() { echo "test-package: FAIL: $*" >&2; exit 1; }

mkdir -p "$work/build" "$work/feed" "$work/consumer"
mcs -nologo -langversion:7 -warnaserror -target:library -r:System.Runtime.Serialization.dll -out:"$work/build/Lic.dll" "$here"/src/*.cs
pkg=$(python3 "$here/pack.py" "$work/build/Lic.dll" "$dist" "$work/feed")
[ "$(basename "$pkg")" = "Lic.$version.nupkg" ] || fail "package is $pkg"

# What an index requires of the nuspec, and the layout .NET resolves.
python3 - "$pkg" "$version" <<'PY'
import sys, zipfile, xml.etree.ElementTree as ET
pkg, version = sys.argv[1], sys.argv[2]
z = zipfile.ZipFile(pkg)
names = set(z.namelist())
need = {"Lic.nuspec", "[Content_Types].xml", "_rels/.rels", "lib/netstandard2.0/Lic.dll",
        "runtimes/linux-x64/native/liblic.so", "runtimes/linux-arm64/native/liblic.so",
        "runtimes/win-x64/native/lic.dll", "README.md"}
missing = need - names
assert not missing, f"missing {sorted(missing)}"
ns = {"n": "http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"}
meta = ET.fromstring(z.read("Lic.nuspec")).find("n:metadata", ns)
get = lambda k: (meta.find(f"n:{k}", ns).text or "").strip() if meta.find(f"n:{k}", ns) is not None else ""
assert get("id") == "Lic" and get("version") == version, (get("id"), get("version"))
for k in ("authors", "description", "license", "readme"):
    assert get(k), f"nuspec has no {k}"
assert meta.find("n:license", ns).get("type") == "expression"
elf = lambda n: int.from_bytes(z.read(n)[18:20], "little")
assert elf("runtimes/linux-x64/native/liblic.so") == 62 and elf("runtimes/linux-arm64/native/liblic.so") == 183
assert z.read("runtimes/win-x64/native/lic.dll")[:2] == b"MZ"
print("nupkg: layout and metadata ok")
PY

# A fresh consumer installs it from the local folder.
cd "$work/consumer"
nuget install Lic -Version "$version" -Source "$work/feed" -OutputDirectory packages -NonInteractive >/dev/null
installed="$work/consumer/packages/Lic.$version"
[ -f "$installed/lib/netstandard2.0/Lic.dll" ] || fail "nuget did not install lib/netstandard2.0/Lic.dll"
case $(uname -m) in
  x86_64) rid=linux-x64 ;;
  aarch64) rid=linux-arm64 ;;
  *) fail "no native library in the package for $(uname -m)" ;;
esac
mkdir -p bin
cp "$installed/lib/netstandard2.0/Lic.dll" "$installed/lib/netstandard2.0/Lic.dll.config" bin/
cp "$installed/runtimes/$rid/native/liblic.so" bin/
mcs -nologo -langversion:7 -r:bin/Lic.dll -out:bin/NodeLocked.exe "$root/examples/csharp/NodeLocked.cs"

# Against lic-devserver, with its demo node-locked license.
[ -x "$server" ] || (cd "$root" && cargo build -p lic-devserver)
"$server" --bootstrap >"$work/boot.json" 2>"$work/server.log" &
pid=$!
i=0
while [ ! -s "$work/boot.json" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$work/boot.json" ] || fail "lic-devserver printed no bootstrap line"
field() { python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])" "$work/boot.json" "$1"; }
run() {
  env -u LD_LIBRARY_PATH -u LIC_LIBRARY \
    LIC_ACCOUNT_ID="$(field account_id)" LIC_API_URL="$(field base_url)" LIC_PUBLIC_KEY="$(field public_key)" \
    LIC_LICENSE_KEY="$(field license_key)" LIC_FINGERPRINT=nuget-consumer LIC_CACHE_DIR="$work/cache" \
    mono bin/NodeLocked.exe </dev/null
}
first=$(run) || fail "first start failed: $first"
echo "$first"
echo "$first" | grep -q "activating this machine" || fail "first start did not activate"
second=$(run) || fail "second start failed: $second"
echo "$second" | grep -q "verdict: VALID, valid=1" || fail "second start not VALID: $second"
echo "nuget consumer: 2 passed, 0 failed"
