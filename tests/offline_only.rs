//! The offline-only build (`--no-default-features`: no HTTP, no TLS) keeps
//! the C API: builds that cdylib into its own target directory
//! (target/offline-only, so the main build is never rebuilt for it), checks
//! that no HTTP or TLS crate is linked in, and drives it from
//! tests/c/test_offline_only.c through the unchanged include/lic.h: a real
//! Keygen machine file (shared/vectors/machine-python.lic) verifies, decrypts
//! and gets a verdict offline, and an online validation answers
//! LIC_STATUS_NETWORK_ERROR saying the build has no network support.
//!
//! Its cost: one debug build of lic and its offline dependencies (about a
//! minute from cold on two cores; a few seconds when only lic changed) and
//! one small C compile.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn build_offline_only() -> PathBuf {
    let target = root().join("target/offline-only");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root())
        .args([
            "build",
            "--quiet",
            "--lib",
            "--no-default-features",
            "--target-dir",
        ])
        .arg(&target)
        // The surrounding `cargo test` may set a target dir of its own.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the offline-only build failed");
    let lib = target.join("debug");
    assert!(lib.join("liblic.so").is_file() || lib.join("liblic.dylib").is_file());
    lib
}

#[test]
#[cfg(unix)]
fn offline_only_build_validates_offline_and_refuses_the_network() {
    let lib = build_offline_only();
    let so = std::fs::read(lib.join(if cfg!(target_os = "macos") {
        "liblic.dylib"
    } else {
        "liblic.so"
    }))
    .unwrap();
    for name in ["rustls", "ureq", "webpki"] {
        assert!(
            !so.windows(name.len()).any(|w| w == name.as_bytes()),
            "the offline-only library links {name}"
        );
    }

    let scratch = std::env::temp_dir().join(format!("lic-offline-only-{}", std::process::id()));
    std::fs::create_dir_all(scratch.join("cache")).unwrap();
    let exe = scratch.join("test_offline_only");
    let include = root().join("include");
    let cc = Command::new("cc")
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(&include)
        .arg(root().join("tests/c/test_offline_only.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-llic", "-lpthread"])
        .status()
        .expect("cc runs");
    assert!(
        cc.success(),
        "cc failed to build tests/c/test_offline_only.c"
    );

    let vectors = root().join("../shared/vectors");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(vectors.join("vectors.json")).unwrap()).unwrap();
    let list = manifest
        .as_array()
        .or_else(|| manifest["vectors"].as_array())
        .expect("a list of vectors");
    let v = list
        .iter()
        .find(|v| v["name"] == "machine-python")
        .expect("the machine-python vector");
    let out = Command::new(&exe)
        // `cargo test` puts its own (full) build on the library path, which
        // would win over the rpath (a RUNPATH).
        .env("LD_LIBRARY_PATH", &lib)
        .arg(vectors.join(v["file"].as_str().unwrap()))
        .arg(v["fingerprint"].as_str().unwrap())
        .arg(v["license_key"].as_str().unwrap())
        .arg(v["public_key_hex"].as_str().unwrap())
        .arg(scratch.join("cache"))
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&scratch);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("FAILED"), "{stdout}");
    assert_eq!(stdout.matches("ok: ").count(), 6, "{stdout}");
}
