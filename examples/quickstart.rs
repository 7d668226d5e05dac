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

/// The cdylib cargo built with this example. Building only an example leaves
/// it in `target/<profile>/deps/` (cargo copies it up to `target/<profile>/`
/// only when the library itself is a requested target), so both places are
/// searched and the newest copy wins: a `cargo build` from before an edit
/// must not shadow the library this run was built against.
fn find_cdylib() -> PathBuf {
    let name = format!(
        "{}lic{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let exe = std::env::current_exe().expect("the quickstart's own path");
    // target/<profile>/examples/quickstart -> target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the quickstart runs from target/<profile>/examples");
    let candidates = [
        profile_dir.join("deps").join(&name),
        profile_dir.join(&name),
    ];
    candidates
        .iter()
        .filter_map(|p| {
            let modified = std::fs::metadata(p).and_then(|m| m.modified()).ok()?;
            Some((modified, p.clone()))
        })
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| {
            panic!(
                "cargo built no {name} in {} or {}",
                candidates[0].display(),
                candidates[1].display()
            )
        })
}

/// Compiles the C example against the header and the cdylib built with this
/// example, copied into the quickstart's own directory so that `-llic` and the
/// run-time search path see exactly that file.
fn build(root: &Path, work: &Path) -> PathBuf {
    let built = find_cdylib();
    let lib_dir = work.join("lib");
    std::fs::create_dir_all(&lib_dir).expect("temp lib dir");
    let lib = lib_dir.join(built.file_name().unwrap());
    std::fs::copy(&built, &lib).expect("copy the cdylib");
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
        built.display()
    );
    exe
}
