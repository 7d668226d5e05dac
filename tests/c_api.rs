//! Compiles tests/c/test_api.c against include/lic.h and the cdylib cargo
//! built, runs it against an in-process lic-devserver, and checks the header
//! compiles alone as C99 and as C++ with warnings as errors.

mod common;

use std::path::Path;
use std::process::Command;

use common::{build_c, compiles, Env, TempDir};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn header_compiles_alone_as_c99_and_cxx() {
    let dir = TempDir::new();
    let c = dir.path.join("h.c");
    std::fs::write(
        &c,
        "#include \"lic.h\"\nint main(void) { return LIC_STATUS_OK; }\n",
    )
    .unwrap();
    let inc = root().join("include");
    for (compiler, std) in [("cc", "-std=c99"), ("c++", "-std=c++11")] {
        let lang = if compiler == "cc" { "c" } else { "c++" };
        let ok = compiles(
            compiler,
            &[
                std,
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
                "-x",
                lang,
                "-I",
                inc.to_str().unwrap(),
                "-fsyntax-only",
                c.to_str().unwrap(),
            ],
        );
        assert!(ok, "{compiler} {std} rejects include/lic.h");
    }
}

#[test]
fn c_program_drives_the_whole_api() {
    let env = Env::with_min_heartbeat(1);
    let (_, key) = env.license(&env.node_locked());
    let slots = env.policy(serde_json::json!({
        "floating": true, "maxMachines": 5, "maxProcesses": 2, "heartbeatDuration": 2
    }));
    let (_, slot_key) = env.license(&slots);
    let dir = TempDir::new();
    let exe = build_c(
        &root().join("tests/c/test_api.c"),
        &dir.path.join("test_api"),
    );
    let out = Command::new(&exe)
        .env("LIC_TEST_URL", env.server.base_url())
        .env("LIC_TEST_ACCOUNT", env.server.account_id())
        .env("LIC_TEST_PUBLIC_KEY", env.server.public_key_hex())
        .env("LIC_TEST_KEY", &key)
        .env("LIC_TEST_SLOT_KEY", &slot_key)
        .env("LIC_TEST_CACHE", dir.path.join("cache"))
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .output()
        .expect("run the C test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "C test failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}

#[test]
fn offline_example_validates_a_hand_delivered_file() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let machine = env.client(&key, "airgap-c").activate().unwrap();
    let (status, body) = env
        .admin
        .request(
            "POST",
            &format!("/v1/machines/{}/actions/check-out", machine.id),
            Some(&serde_json::json!({"meta": {"include": ["license"], "encrypt": true}})),
        )
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let dir = TempDir::new();
    let file = dir.path.join("machine.lic");
    std::fs::write(
        &file,
        body["data"]["attributes"]["certificate"].as_str().unwrap(),
    )
    .unwrap();
    let exe = build_c(
        &root().join("examples/c/offline.c"),
        &dir.path.join("offline"),
    );
    let run = |fingerprint: &str| {
        Command::new(&exe)
            .arg(&file)
            .env("LIC_ACCOUNT_ID", env.server.account_id())
            .env("LIC_PUBLIC_KEY", env.server.public_key_hex())
            .env("LIC_LICENSE_KEY", &key)
            .env("LIC_FINGERPRINT", fingerprint)
            .output()
            .unwrap()
    };
    let out = run("airgap-c");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("verdict: VALID, valid=1"), "{stdout}");
    // The same file on another machine is refused.
    let out = run("another-machine");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("fingerprint mismatch"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
