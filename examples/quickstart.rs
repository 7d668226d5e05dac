//! The node-locked flow end to end, with nothing to sign up for: starts an
//! embedded lic-devserver with a demo license, builds examples/c/node_locked.c
//! against include/lic.h and liblic, and runs it through every step.
//!
//!     cargo run --example quickstart

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lic_devserver::{DevServer, Options};
use serde_json::json;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let server = DevServer::start(Options {
        bootstrap: true,
        ..Options::default()
    })
    .expect("start lic-devserver");
    let demo = server.bootstrap().expect("bootstrap license");
    println!(
        "lic-devserver at {} (account {})",
        server.base_url(),
        server.account_id()
    );
    println!(
        "demo license {} on a node-locked, strict policy\n",
        demo.license_key
    );

    let work = std::env::temp_dir().join(format!("lic-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("temp dir");
    let exe = build(root, &work);

    let run = |title: &str, fingerprint: &str, args: &[&str], stdin: &str| -> bool {
        println!("== {title}");
        let mut child = Command::new(&exe)
            .args(args)
            .env("LIC_ACCOUNT_ID", server.account_id())
            .env("LIC_API_URL", server.base_url())
            .env("LIC_PUBLIC_KEY", server.public_key_hex())
            .env("LIC_LICENSE_KEY", &demo.license_key)
            .env("LIC_FINGERPRINT", fingerprint)
            .env("LIC_CACHE_DIR", work.join("cache"))
            .stdin(Stdio::piped())
            .spawn()
            .expect("run node_locked");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let ok = child.wait().expect("wait").success();
        println!("   (exit {})\n", if ok { 0 } else { 1 });
        ok
    };

    let mut steps = Vec::new();
    steps.push(run(
        "1. first start on machine A: not activated yet, so it activates",
        "machine-a",
        &[],
        "",
    ));
    steps.push(run(
        "2. next start on machine A: valid",
        "machine-a",
        &[],
        "",
    ));
    steps.push(!run(
        "3. machine B: locked to A, the user declines to move it",
        "machine-b",
        &[],
        "n\n",
    ));
    server.admin().set_fault(json!({ "mode": "offline" }));
    steps.push(run(
        "4. machine A with the server unreachable: the cached, signed machine file answers",
        "machine-a",
        &[],
        "",
    ));
    server.admin().clear_faults();
    steps.push(run(
        "5. machine B again: the user moves the license to B",
        "machine-b",
        &[],
        "y\n",
    ));
    steps.push(!run(
        "6. machine A now: locked to B (declined)",
        "machine-a",
        &[],
        "n\n",
    ));
    steps.push(run(
        "7. machine B deactivates",
        "machine-b",
        &["--deactivate"],
        "",
    ));

    let _ = std::fs::remove_dir_all(&work);
    let passed = steps.iter().filter(|ok| **ok).count();
    println!(
        "quickstart: {passed} of {} steps behaved as expected",
        steps.len()
    );
    if passed != steps.len() {
        std::process::exit(1);
    }
}

/// Compiles the C example against the header and the cdylib next to this example.
fn build(root: &Path, work: &Path) -> PathBuf {
    let lib_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let exe = work.join("node_locked");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-std=c99")
        .arg("-Wall")
        .arg("-Wextra")
        .arg("-I")
        .arg(root.join("include"))
        .arg(root.join("examples/c/node_locked.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-llic")
        .status()
        .expect("a C compiler (cc) is needed to build examples/c/node_locked.c");
    assert!(status.success(), "building examples/c/node_locked.c failed");
    println!(
        "built examples/c/node_locked.c against include/lic.h and {}\n",
        lib_dir.join("liblic.so").display()
    );
    exe
}
