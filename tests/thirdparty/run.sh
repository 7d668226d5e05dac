#!/usr/bin/env bash
# keygen-rs (crates.io) against lic-devserver: builds the devserver binary in lic's
# workspace, then this crate (its own workspace and Cargo.lock, so keygen-rs and its HTTP
# stack never enter lic's dependency tree) and runs its test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build -p lic-devserver --bin lic-devserver)
export LIC_DEVSERVER="$target/debug/lic-devserver"
cd "$here"
CARGO_TARGET_DIR="$here/target" cargo test --locked
