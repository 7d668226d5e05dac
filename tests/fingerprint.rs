//! Hardware components and the explainable fingerprint against the
//! devserver: components sent with activation and read back from the
//! server, the components scope when the policy requires it, matching that
//! survives a swapped disk and refuses a cloned VM, the app's overrides, the
//! report's diff and buffer protocol, the C example, and a container without
//! a machine id (a real mount and network namespace).

mod common;

use std::ffi::{c_char, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::{null, null_mut};

use common::{Env, TempDir};
use lic::client::{Client, VALIDATE_AUTO_ACTIVATE};
use lic::ffi::status::lic_status::*;
use lic::model::ValidationCode as Code;
use serde_json::{json, Value};

/// Names of the components lic collects here by itself.
fn builtin_names(env: &Env) -> Vec<String> {
    env.client("k", "fp-probe")
        .components()
        .iter()
        .map(|c| c.name.clone())
        .collect()
}

/// A config that sends exactly `mine` (every built-in component excluded).
fn only(env: &Env, key: &str, fp: &str, mine: &[(&str, &str)]) -> Client {
    let mut cfg = env.config(key, fp);
    cfg.components = builtin_names(env).into_iter().map(|n| (n, None)).collect();
    cfg.components.extend(
        mine.iter()
            .map(|(n, v)| (n.to_string(), Some(v.to_string()))),
    );
    Client::new(cfg).unwrap()
}

fn server_components(env: &Env, machine_id: &str) -> Vec<(String, String)> {
    let (status, v) = env
        .admin
        .request(
            "GET",
            &format!("/v1/machines/{machine_id}/components"),
            None,
        )
        .unwrap();
    assert_eq!(status, 200, "{v}");
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["attributes"]["name"].as_str().unwrap().to_string(),
                c["attributes"]["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn activation_sends_the_components_and_the_report_compares_them() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let mut cfg = env.config(&key, "fp-comp");
    cfg.components = vec![
        ("pod_uid".into(), Some("pod-1234".into())),
        ("disk".into(), None),
    ];
    let c = Client::new(cfg).unwrap();
    let m = c.activate().unwrap();
    let sent = c
        .components()
        .iter()
        .filter(|c| c.sendable())
        .map(|c| (c.name.clone(), c.hash.clone().unwrap()))
        .collect::<Vec<_>>();
    assert!(sent.iter().any(|(n, _)| n == "pod_uid"));
    assert!(!sent.iter().any(|(n, _)| n == "disk"), "excluded");
    let mut on_server = server_components(&env, &m.id);
    let mut want = sent.clone();
    on_server.sort();
    want.sort();
    assert_eq!(on_server, want, "the server has exactly what lic sent");
    assert!(!on_server.iter().any(|(_, fp)| fp.contains("pod-1234")));

    let report = c.fingerprint_report();
    assert_eq!(report["version"], 1);
    assert_eq!(report["activated_machine"]["activated"], true);
    assert_eq!(report["activated_machine"]["machine_id"], m.id.as_str());
    assert_eq!(
        report["activated_machine"]["matching"].as_u64(),
        Some(sent.len() as u64)
    );
    for comp in report["components"].as_array().unwrap() {
        let expected = if comp["sent"] == true {
            json!("match")
        } else if comp["readable"] == true {
            // Readable but excluded by the app: not on the server.
            json!("not_activated")
        } else {
            Value::Null
        };
        assert_eq!(comp["activated"], expected, "{comp}");
    }
    assert!(
        !report.to_string().contains("pod-1234"),
        "never a raw value"
    );

    // The same machine with a new disk and a new pod: the report names them.
    let mut cfg = env.config(&key, "fp-comp");
    cfg.components = vec![("pod_uid".into(), Some("pod-9999".into()))];
    let changed = Client::new(cfg).unwrap().fingerprint_report();
    let pod = changed["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "pod_uid")
        .unwrap()
        .clone();
    assert_eq!(pod["activated"], "differs");
    assert!(changed["activated_machine"]["differs"]
        .as_array()
        .unwrap()
        .contains(&json!("pod_uid")));

    // Not activated: said so.
    let other = env.client(&key, "fp-comp-other").fingerprint_report();
    assert_eq!(other["activated_machine"]["activated"], false);
    assert_eq!(other["activated_machine"]["checked"], true);
}

#[test]
fn the_components_scope_is_sent_when_the_policy_requires_it() {
    let env = Env::new();
    let p = env.policy(json!({
        "strict": true, "floating": false, "maxMachines": 1,
        "requireComponentsScope": true, "componentMatchingStrategy": "MATCH_ALL",
    }));
    let (_, key) = env.license(&p);
    let mine = [("system_uuid", "u-1"), ("disk", "d-1")];
    let c = only(&env, &key, "fp-scope", &mine);
    // Activation, then COMPONENTS_SCOPE_REQUIRED, then the same call again
    // with the scope: VALID in one call.
    let v = c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    assert_eq!((v.code, v.valid), (Code::Valid, true), "{}", v.detail);
    // The client remembers: the next validation sends the scope at once.
    assert_eq!(c.validate(0).unwrap().code, Code::Valid);
    // A fresh client learns it from the cached machine file's policy.
    let fresh = only(&env, &key, "fp-scope", &mine);
    assert_eq!(fresh.validate(0).unwrap().code, Code::Valid);
    // MATCH_ALL: one changed component is a mismatch.
    let swapped = only(
        &env,
        &key,
        "fp-scope",
        &[("system_uuid", "u-1"), ("disk", "d-2")],
    );
    let v = swapped.validate(0).unwrap();
    assert_eq!((v.code, v.valid), (Code::ComponentsScopeMismatch, false));
    assert!(
        v.detail.contains("all associated components"),
        "{}",
        v.detail
    );

    // Without requireComponentsScope lic sends no scope, so a machine
    // activated without components (another client) still validates.
    let (_, key) = env.license(&env.node_locked());
    let bare = only(&env, &key, "fp-noscope", &[]);
    assert_eq!(
        bare.validate(VALIDATE_AUTO_ACTIVATE).unwrap().code,
        Code::Valid
    );
}

#[test]
fn match_most_survives_a_new_disk_and_refuses_a_cloned_vm() {
    let env = Env::new();
    let p = env.policy(json!({
        "strict": true, "floating": false, "maxMachines": 1,
        "requireComponentsScope": true, "componentMatchingStrategy": "MATCH_MOST",
    }));
    let (_, key) = env.license(&p);
    let fp = "fp-most";
    let first = [
        ("system_uuid", "4c4c4544-0001"),
        ("disk", "S3Z9NB0K100001"),
        ("mac:eth0", "52:54:00:00:00:01"),
    ];
    let v = only(&env, &key, fp, &first)
        .validate(VALIDATE_AUTO_ACTIVATE)
        .unwrap();
    assert_eq!(v.code, Code::Valid, "{}", v.detail);
    let new_disk = [first[0], ("disk", "WD-NEW-DISK"), first[2]];
    assert_eq!(
        only(&env, &key, fp, &new_disk).validate(0).unwrap().code,
        Code::Valid,
        "2 of 3 match: the user keeps working"
    );
    // A clone keeps the OS machine id (so the fingerprint) and the disk
    // image, but gets a new system UUID and MAC.
    let clone = [
        ("system_uuid", "4c4c4544-0002"),
        first[1],
        ("mac:eth0", "52:54:00:00:00:02"),
    ];
    let v = only(&env, &key, fp, &clone).validate(0).unwrap();
    assert_eq!((v.code, v.valid), (Code::ComponentsScopeMismatch, false));
    assert!(v.detail.contains("enough"), "{}", v.detail);
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A C client configured against the devserver, with extra components.
unsafe fn c_client(
    env: &Env,
    key: &str,
    fp: &str,
    components: &[(&str, Option<&str>)],
) -> *mut lic::ffi::client::lic_client {
    use lic::ffi::config::*;
    let mut cfg = null_mut();
    assert_eq!(lic_config_new(&mut cfg), LIC_STATUS_OK);
    for (set, value) in [
        (
            lic_config_set_account_id as unsafe extern "C" fn(_, _) -> _,
            env.server.account_id(),
        ),
        (lic_config_set_api_url, env.server.base_url()),
        (lic_config_set_license_key, key.to_string()),
        (lic_config_set_public_key, env.server.public_key_hex()),
        (lic_config_set_fingerprint, fp.to_string()),
        (
            lic_config_set_cache_dir,
            env.dir.path.join(fp).display().to_string(),
        ),
    ] {
        assert_eq!(set(cfg, cstr(&value).as_ptr()), LIC_STATUS_OK);
    }
    for (name, value) in components {
        let v = value.map(cstr);
        assert_eq!(
            lic_config_add_component(
                cfg,
                cstr(name).as_ptr(),
                v.as_ref().map_or(null(), |v| v.as_ptr())
            ),
            LIC_STATUS_OK
        );
    }
    let mut client = null_mut();
    assert_eq!(
        lic::ffi::client::lic_client_new(cfg, &mut client),
        LIC_STATUS_OK
    );
    lic_config_free(cfg);
    client
}

#[test]
fn c_report_follows_the_buffer_protocol_and_add_component_checks_its_input() {
    use lic::ffi::config::*;
    use lic::ffi::support::*;
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    unsafe {
        let mut cfg = null_mut();
        assert_eq!(lic_config_new(&mut cfg), LIC_STATUS_OK);
        assert_eq!(
            lic_config_add_component(null_mut(), c"a".as_ptr(), null()),
            LIC_STATUS_NULL_ARGUMENT
        );
        assert_eq!(
            lic_config_add_component(cfg, null(), c"v".as_ptr()),
            LIC_STATUS_NULL_ARGUMENT
        );
        assert_eq!(
            lic_config_add_component(cfg, c"".as_ptr(), c"v".as_ptr()),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(
            lic_config_add_component(cfg, c"a\tb".as_ptr(), c"v".as_ptr()),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(
            lic_config_add_component(cfg, c"a".as_ptr(), c"".as_ptr()),
            LIC_STATUS_INVALID_ARGUMENT
        );
        let bad = [0xffu8, 0];
        assert_eq!(
            lic_config_add_component(cfg, bad.as_ptr().cast(), null()),
            LIC_STATUS_INVALID_UTF8
        );
        for i in 0..64 {
            assert_eq!(
                lic_config_add_component(cfg, cstr(&format!("c{i}")).as_ptr(), c"v".as_ptr()),
                LIC_STATUS_OK
            );
        }
        assert_eq!(
            lic_config_add_component(cfg, c"one-too-many".as_ptr(), c"v".as_ptr()),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(
            lic_config_add_component(cfg, c"c3".as_ptr(), null()),
            LIC_STATUS_OK,
            "replacing is fine"
        );
        assert_eq!(
            lic_config_set_offline_grace_seconds(cfg, -1),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(lic_config_set_offline_grace_seconds(cfg, 0), LIC_STATUS_OK);
        lic_config_free(cfg);

        let client = c_client(
            &env,
            &key,
            "fp-c-report",
            &[("serial", Some("RAW-SERIAL-777")), ("cpu", None)],
        );
        let mut len = 0usize;
        assert_eq!(
            lic_fingerprint_report(null(), null_mut(), 0, &mut len),
            LIC_STATUS_NULL_ARGUMENT
        );
        assert_eq!(
            lic_fingerprint_report(client, null_mut(), 0, &mut len),
            LIC_STATUS_BUFFER_TOO_SMALL
        );
        let mut small = vec![0 as c_char; 8];
        let mut len2 = 0usize;
        assert_eq!(
            lic_fingerprint_report(client, small.as_mut_ptr(), small.len(), &mut len2),
            LIC_STATUS_BUFFER_TOO_SMALL
        );
        assert_eq!(len2, len, "the kept document is the one measured");
        let mut buf = vec![0 as c_char; len + 1];
        let mut got = 0usize;
        assert_eq!(
            lic_fingerprint_report(client, buf.as_mut_ptr(), buf.len(), &mut got),
            LIC_STATUS_OK
        );
        assert_eq!(got, len);
        let text = std::ffi::CStr::from_ptr(buf.as_ptr()).to_str().unwrap();
        let doc: Value = serde_json::from_str(text).unwrap();
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["fingerprint"], "fp-c-report");
        assert_eq!(doc["fingerprint_source"], "config");
        assert!(!text.contains("RAW-SERIAL-777") && !text.contains(&key));
        let comps = doc["components"].as_array().unwrap();
        let serial = comps.iter().find(|c| c["name"] == "serial").unwrap();
        assert_eq!(
            (serial["source"].as_str(), serial["sent"].as_bool()),
            (Some("app"), Some(true))
        );
        let cpu = comps.iter().find(|c| c["name"] == "cpu").unwrap();
        assert_eq!(cpu["sent"], false, "excluded by the app");
        assert_eq!(doc["activated_machine"]["activated"], false);
        lic::ffi::client::lic_client_free(client);
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Builds examples/c/fingerprint.c against the cdylib of this test build.
fn build_example(dir: &Path) -> PathBuf {
    let lib = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let out = dir.join("fingerprint");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root().join("include"))
        .arg(root().join("examples/c/fingerprint.c"))
        .arg("-o")
        .arg(&out)
        .arg("-L")
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-llic")
        .status()
        .expect("a C compiler (cc) is needed for examples/c/fingerprint.c");
    assert!(status.success(), "examples/c/fingerprint.c does not build");
    out
}

#[test]
fn the_c_example_prints_the_report_of_an_activated_machine() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let fp = "fp-example";
    env.client(&key, fp).activate().unwrap();
    let dir = TempDir::new();
    let exe = build_example(&dir.path);
    let out = Command::new(&exe)
        .args([
            env.server.account_id(),
            key.clone(),
            env.server.base_url(),
            env.server.public_key_hex(),
        ])
        .env("LIC_FINGERPRINT", fp)
        .env("LIC_CACHE_DIR", env.dir.path.join(fp))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    let doc: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(doc["fingerprint"], fp);
    assert_eq!(doc["activated_machine"]["activated"], true);
    assert!(stderr.contains("fingerprint: fp-example"), "{stderr}");
    assert!(stderr.contains("activated=match"), "{stderr}");
    assert!(!stdout.contains(&key) && !stderr.contains(&key));
    // Usage without arguments.
    let usage = Command::new(&exe).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

/// Prints the report of a client with no fingerprint override (run inside
/// the namespace by `a_container_without_machine_id_is_told_what_to_pass`).
#[test]
#[ignore = "helper run as a child process by a_container_without_machine_id_is_told_what_to_pass"]
fn report_child() {
    let cfg = lic::Config {
        account_id: Some("acct".into()),
        license_key: Some("KEY".into()),
        cache_dir: Some(std::env::temp_dir().join("lic-report-child")),
        ..lic::Config::default()
    };
    let c = Client::new(cfg).unwrap();
    let e = c.fingerprint().unwrap_err();
    assert_eq!(e.kind, lic::ErrorKind::FingerprintUnavailable);
    println!("REPORT {}", c.fingerprint_report());
}

#[test]
fn a_container_without_machine_id_is_told_what_to_pass() {
    // A real mount and network namespace (we run as root): empty files are
    // bind-mounted over both machine-id files, as in a container whose image
    // has none.
    let dir = TempDir::new();
    let empty = dir.path.join("empty");
    std::fs::write(&empty, "").unwrap();
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "set -e; for f in /etc/machine-id /var/lib/dbus/machine-id; do [ -e $f ] || continue; mount --bind {e} $f; done; \
         exec {exe} report_child --exact --ignored --nocapture --test-threads=1",
        e = empty.display(),
        exe = exe.display()
    );
    let out = Command::new("unshare")
        .args([
            "--mount",
            "--net",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
        ])
        .output()
        .expect("unshare (util-linux) is needed to hide the machine id");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the namespace test needs root (unshare --mount): {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("REPORT ").map(|(_, r)| r.to_string()))
        .expect("the child printed its report");
    let doc: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(doc["fingerprint"], Value::Null);
    assert!(
        doc["fingerprint_error"]
            .as_str()
            .unwrap()
            .contains("machine id"),
        "{doc}"
    );
    let machine_id = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "machine_id")
        .unwrap();
    assert_eq!(machine_id["readable"], false);
    assert!(
        machine_id["note"].as_str().unwrap().contains("empty"),
        "{machine_id}"
    );
    let advice = doc["advice"].to_string();
    assert!(advice.contains("no readable OS machine id"), "{advice}");
    assert!(advice.contains("lic_config_set_fingerprint"), "{advice}");
    assert!(advice.contains("lic_config_add_component"), "{advice}");
    assert_eq!(doc["activated_machine"]["checked"], false);
    // Outside the namespace this machine has its id.
    assert!(lic::machine::machine_fingerprint("lic").is_ok());
}
