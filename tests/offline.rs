//! Offline answers against lic-devserver: the cached machine file, files
//! delivered by hand, and corrupt caches.

mod common;

use common::Env;
use lic::client::{Client, VALIDATE_AUTO_ACTIVATE, VALIDATE_OFFLINE_ONLY, VALIDATE_ONLINE_ONLY};
use lic::error::ErrorKind;
use lic::model::{Source, ValidationCode as Code};
use serde_json::json;

#[test]
fn cached_machine_file_answers_when_the_server_is_away() {
    let env = Env::new();
    let (license_id, key) = env.license(&env.node_locked());
    let c = env.client(&key, "fp-off");
    c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    let files = env.cache_files("fp-off");
    assert_eq!(files.len(), 1, "activation caches one machine file");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.starts_with("-----BEGIN MACHINE FILE-----"));
    assert!(
        !files[0].to_string_lossy().contains(&key),
        "the key is never part of a file name"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    env.admin.set_fault(json!({ "mode": "offline" }));
    // A fresh client (a new process) reads the cache from disk.
    let fresh = env.client(&key, "fp-off");
    let v = fresh.validate(0).unwrap();
    assert_eq!((v.code, v.valid), (Code::Valid, true));
    assert_eq!(v.source, Source::CachedFile);
    assert!(v.verified);
    assert_eq!(v.license.as_ref().unwrap().id, license_id);
    assert!(v.machine_id.is_some());
    assert!(v.file_issued.is_some() && v.file_expiry.is_some());
    assert!(
        v.offline_reason
            .as_deref()
            .unwrap_or("")
            .contains("connection"),
        "{:?}",
        v.offline_reason
    );
    assert!(v
        .certificate
        .as_deref()
        .unwrap()
        .starts_with("-----BEGIN MACHINE FILE-----"));
    // Online-only refuses to fall back.
    assert_eq!(
        fresh.validate(VALIDATE_ONLINE_ONLY).unwrap_err().kind,
        ErrorKind::Network
    );

    env.admin.clear_faults();
    assert_eq!(fresh.validate(0).unwrap().source, Source::Online);

    c.deactivate(None).unwrap();
    assert!(
        env.cache_files("fp-off").is_empty(),
        "deactivation removes the cached file"
    );
}

#[test]
fn definite_online_verdicts_are_never_overridden() {
    let env = Env::new();
    let (id, key) = env.license(&env.node_locked());
    let c = env.client(&key, "fp-susp");
    c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    env.admin.suspend_license(&id);
    let v = c.validate(0).unwrap();
    assert_eq!((v.code, v.source), (Code::Suspended, Source::Online));
}

#[test]
fn no_public_key_means_no_fallback() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let mut cfg = env.config(&key, "fp-nokey");
    cfg.public_keys = lic::crypto::KeySet::new();
    let c = Client::new(cfg).unwrap();
    let v = c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    assert_eq!(v.code, Code::Valid);
    assert!(!v.verified, "without a public key answers are not verified");
    env.admin.set_fault(json!({ "mode": "offline" }));
    let e = c.validate(0).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoPublicKey);
    assert!(e.message.contains("no public key"), "{}", e.message);
}

#[test]
fn corrupt_cache_is_ignored_and_replaced() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    env.client(&key, "fp-corrupt")
        .validate(VALIDATE_AUTO_ACTIVATE)
        .unwrap();
    let path = env.cache_files("fp-corrupt").remove(0);
    let good = std::fs::read_to_string(&path).unwrap();
    for garbage in [
        "",
        "garbage",
        &good[..good.len() / 2],
        &good.replace('A', "B"),
    ] {
        std::fs::write(&path, garbage).unwrap();
        env.admin.set_fault(json!({ "mode": "offline" }));
        let e = env.client(&key, "fp-corrupt").validate(0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NoOfflineData, "{garbage:.20}");
        env.admin.clear_faults();
        // The next online success with a stale/missing cache replaces it.
        let v = env.client(&key, "fp-corrupt").validate(0).unwrap();
        assert_eq!(v.code, Code::Valid);
        let now = std::fs::read_to_string(&path).unwrap();
        assert!(
            now.starts_with("-----BEGIN MACHINE FILE-----"),
            "cache was rewritten"
        );
    }
}

#[test]
fn hand_delivered_machine_file() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    // The vendor activates and checks out a file on the customer's behalf.
    let c = env.client(&key, "fp-airgap");
    let m = c.activate().unwrap();
    let (status, body) = env
        .admin
        .request(
            "POST",
            &format!("/v1/machines/{}/actions/check-out", m.id),
            Some(
                &json!({"meta": {"include": ["license", "license.entitlements"], "encrypt": true}}),
            ),
        )
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let cert = body["data"]["attributes"]["certificate"]
        .as_str()
        .unwrap()
        .to_string();

    // The air-gapped machine: nothing cached, no server at all.
    let mut cfg = env.config(&key, "fp-airgap");
    cfg.cache_dir = Some(env.dir.path.join("airgap-empty"));
    cfg.base_url = "http://127.0.0.1:9".into();
    let offline = Client::new(cfg.clone()).unwrap();
    assert_eq!(
        offline.validate(0).unwrap_err().kind,
        ErrorKind::NoOfflineData
    );
    offline.load_file(&cert).unwrap();
    let v = offline.validate(VALIDATE_OFFLINE_ONLY).unwrap();
    assert_eq!(
        (v.code, v.valid, v.source),
        (Code::Valid, true, Source::LoadedFile)
    );
    let v = offline.validate(0).unwrap();
    assert_eq!(v.source, Source::LoadedFile);

    // The same file on another machine is refused for its fingerprint.
    cfg.fingerprint = Some("someone-else".into());
    let e = Client::new(cfg.clone())
        .unwrap()
        .load_file(&cert)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::FingerprintMismatch);
    // A tampered file is refused for its signature.
    cfg.fingerprint = Some("fp-airgap".into());
    let mut lines: Vec<String> = cert.lines().map(str::to_string).collect();
    let mid = lines.len() / 2;
    lines[mid] = lines[mid].chars().rev().collect();
    let tampered = lines.join("\n") + "\n";
    let e = Client::new(cfg).unwrap().load_file(&tampered).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::SignatureInvalid | ErrorKind::FileMalformed
        ),
        "{e:?}"
    );
}
