//! Compiles tests/c/test_relay.c against include/lic.h and the cdylib cargo built (as
//! tests/c_api.rs does) and runs it against an in-process lic-devserver and its relay mode:
//! the lease's whole life through the C API, release at exit, and two processes after one
//! license. The program asks for faults on a line protocol ("NEED …" on stdout, a line on
//! stdin when done).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{build_c, TempDir};
use lic_devserver::{checkout_license_file, Admin, DevServer, Options, RelayOptions, RelayServer};
use serde_json::json;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

struct Setup {
    keygen: DevServer,
    admin: Admin,
    policy: String,
    dir: TempDir,
    exe: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let keygen = DevServer::start(Options::default()).unwrap();
        let admin = keygen.admin();
        let product = admin.create_product("Relay C");
        let policy = admin.create_policy(
            &product,
            json!({ "name": "seats", "authenticationStrategy": "LICENSE" }),
        );
        let dir = TempDir::new();
        let exe = build_c(
            &root().join("tests/c/test_relay.c"),
            &dir.path.join("test_relay"),
        );
        Setup {
            keygen,
            admin,
            policy,
            dir,
            exe,
        }
    }

    fn relay(&self, licenses: usize, pool: Option<&str>, opts: RelayOptions) -> RelayServer {
        let relay = RelayServer::start(RelayOptions {
            public_key_hex: Some(self.keygen.public_key_hex()),
            ..opts
        })
        .unwrap();
        for _ in 0..licenses {
            let (id, _) = self.admin.create_license(&self.policy, json!({}));
            relay.add_from_devserver(&self.admin, &id, pool).unwrap();
        }
        relay
    }

    fn command(&self, relay_url: &str) -> Command {
        let mut c = Command::new(&self.exe);
        // cargo's LD_LIBRARY_PATH points at a copy of liblic that `cargo test` does not
        // refresh; the program's rpath names the fresh one.
        c.env_remove("LD_LIBRARY_PATH")
            .env("LIC_TEST_ACCOUNT", self.keygen.account_id())
            .env("LIC_TEST_PUBLIC_KEY", self.keygen.public_key_hex())
            .env("LIC_TEST_CACHE", self.dir.path.join("cache"))
            .env("LIC_RELAY_URL", relay_url);
        c
    }
}

fn short_ttl(ttl: u64) -> RelayOptions {
    RelayOptions {
        ttl: Duration::from_secs(ttl),
        min_ttl: Duration::from_secs(1),
        cull_interval: Duration::from_secs(1),
        ..RelayOptions::default()
    }
}

#[test]
fn c_program_leases_renews_loses_recovers_and_releases() {
    let s = Setup::new();
    let main = s.relay(1, Some("seats"), short_ttl(4));
    let signed = s.relay(
        1,
        None,
        RelayOptions {
            signing_secret: Some("c-secret".into()),
            ..RelayOptions::default()
        },
    );
    // A relay whose database holds a file altered after `relay add` would have checked it.
    let tampered = RelayServer::start(RelayOptions::default()).unwrap();
    let (id, key) = s.admin.create_license(&s.policy, json!({}));
    let (file, _) = checkout_license_file(&s.admin, &id).unwrap();
    tampered
        .add_license_unchecked(&id, &common::tamper_certificate(&file), &key, None)
        .unwrap();

    let mut child = s
        .command(&main.url())
        .env("LIC_RELAY_POOL", "seats")
        .env("LIC_RELAY_SIGNED_URL", signed.url())
        .env("LIC_RELAY_SECRET", "c-secret")
        .env("LIC_RELAY_TAMPERED_URL", tampered.url())
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the C test");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut main = Some(main);
    let mut transcript = String::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        transcript.push_str(&line);
        transcript.push('\n');
        let Some(what) = line.strip_prefix("NEED ") else {
            continue;
        };
        match what {
            "fault" => main
                .as_ref()
                .unwrap()
                .set_fault(json!({ "mode": "offline" })),
            "clear" => main.as_ref().unwrap().clear_faults(),
            "stop" => drop(main.take()),
            other => panic!("the C program needs {other}"),
        }
        writeln!(stdin, "ok").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{transcript}{stderr}");
    assert!(
        out.status.success(),
        "C test failed:\n{transcript}\n{stderr}"
    );
    assert!(transcript.contains(" passed, 0 failed"), "{transcript}");
}

/// Runs `test_relay hold FP MS` processes at once; returns each one's (status, source).
fn hold(s: &Setup, relay: &RelayServer, machines: &[&str], ms: u64) -> Vec<(i32, i32)> {
    let children: Vec<_> = machines
        .iter()
        .map(|m| {
            s.command(&relay.url())
                // The program exits without freeing its client on purpose.
                .env("ASAN_OPTIONS", "detect_leaks=0")
                .args(["hold", m, &ms.to_string()])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(out.status.success(), "{text}");
            let line = text.lines().find(|l| l.starts_with("RESULT ")).unwrap();
            let v: Vec<i32> = line[7..].split(' ').map(|x| x.parse().unwrap()).collect();
            (v[0], v[1])
        })
        .collect()
}

const OK: i32 = 0;
const NO_LICENSE_AVAILABLE: i32 = 35;
const SOURCE_RELAY: i32 = 5;

#[test]
fn a_c_program_that_exits_normally_releases_its_lease() {
    let s = Setup::new();
    let relay = s.relay(1, None, RelayOptions::default());
    assert_eq!(hold(&s, &relay, &["c-exit"], 0), [(OK, SOURCE_RELAY)]);
    assert_eq!(relay.licenses()[0].node, None, "released at exit");
}

#[test]
fn two_c_processes_compete_for_one_license() {
    let s = Setup::new();
    let relay = s.relay(1, None, RelayOptions::default());
    let mut results = hold(&s, &relay, &["c-one", "c-two"], 1500);
    results.sort();
    assert_eq!(results, [(OK, SOURCE_RELAY), (NO_LICENSE_AVAILABLE, 0)]);
    assert_eq!(relay.licenses()[0].node, None);
}

#[test]
fn the_relay_example_leases_renews_and_gives_the_license_back() {
    let s = Setup::new();
    let relay = s.relay(1, None, short_ttl(2));
    let exe = build_c(
        &root().join("examples/c/relay.c"),
        &s.dir.path.join("relay_example"),
    );
    let out = Command::new(&exe)
        .arg("4")
        .env_remove("LD_LIBRARY_PATH")
        .env("LIC_ACCOUNT_ID", s.keygen.account_id())
        .env("LIC_PUBLIC_KEY", s.keygen.public_key_hex())
        .env("LIC_RELAY_URL", relay.url())
        .env("LIC_FINGERPRINT", "example-machine")
        .env("ASAN_OPTIONS", "detect_leaks=1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("VALID from the relay: license "),
        "{stdout}"
    );
    assert!(stdout.contains("lease until "), "{stdout}");
    assert!(
        stdout.contains("LEASE_RENEWED: lease on license "),
        "{stdout}"
    );
    assert!(stdout.ends_with("released\n"), "{stdout}");
    assert_eq!(relay.licenses()[0].node, None);
    // With the license leased to another node, the example says so and exits 3.
    let r = lic_devserver::raw::send(&relay.addr(), "PUT", "/v1/nodes/someone-else", &[], b"");
    assert_eq!(r.unwrap().status, 201);
    let busy = Command::new(&exe)
        .arg("0")
        .env_remove("LD_LIBRARY_PATH")
        .env("LIC_ACCOUNT_ID", s.keygen.account_id())
        .env("LIC_PUBLIC_KEY", s.keygen.public_key_hex())
        .env("LIC_RELAY_URL", relay.url())
        .env("LIC_FINGERPRINT", "example-machine")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&busy.stdout);
    assert_eq!(busy.status.code(), Some(3), "{stdout}");
    assert!(stdout.starts_with("no license free: "), "{stdout}");
}
