//! The node-locked flows of the core client against lic-devserver over HTTP.

mod common;

use common::Env;
use lic::client::{VALIDATE_AUTO_ACTIVATE, VALIDATE_ONLINE_ONLY};
use lic::error::ErrorKind;
use lic::model::{Source, ValidationCode as Code};
use serde_json::json;

#[test]
fn node_locked_validate_activate_deactivate() {
    let env = Env::new();
    let (license_id, key) = env.license(&env.node_locked());
    let c = env.client(&key, "fp-node-locked");

    let v = c.validate(0).unwrap();
    assert_eq!((v.code, v.valid), (Code::NoMachine, false));
    assert_eq!(v.code_text, "NO_MACHINE");
    assert_eq!(v.source, Source::Online);
    assert!(
        v.verified,
        "a configured public key means a verified answer"
    );
    assert_eq!(v.license.as_ref().unwrap().id, license_id);
    assert_eq!(v.machine_id, None);

    let m = c.activate().unwrap();
    assert_eq!(m.fingerprint, "fp-node-locked");
    let v = c.validate(0).unwrap();
    assert_eq!((v.code, v.valid), (Code::Valid, true));
    assert_eq!(v.detail, "is valid");
    assert_eq!(v.machine_id.as_deref(), Some(m.id.as_str()));
    assert!(v.timestamp.is_some());
    let l = v.license.unwrap();
    assert_eq!(l.key.as_deref(), Some(key.as_str()));
    assert_eq!(l.max_machines, Some(1));

    // Activating again is success and names the same machine.
    assert_eq!(c.activate().unwrap().id, m.id);
    assert_eq!(c.machines().unwrap().len(), 1);

    c.deactivate(None).unwrap();
    assert_eq!(c.validate(0).unwrap().code, Code::NoMachine);
    let e = c.deactivate(None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::MachineNotActivated);
    assert!(e.message.contains("not activated"), "{}", e.message);
}

#[test]
fn auto_activation_and_mismatch_on_another_machine() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let a = env.client(&key, "fp-a");
    let b = env.client(&key, "fp-b");

    let v = a.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    assert_eq!((v.code, v.valid), (Code::Valid, true));
    let a_machine = v.machine_id.unwrap();

    // Node-locked to A: B's mismatch comes back untouched.
    let v = b.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    assert_eq!((v.code, v.valid), (Code::FingerprintScopeMismatch, false));
    let e = b.activate().unwrap_err();
    assert_eq!(e.kind, ErrorKind::MachineLimitExceeded);
    assert_eq!(e.code.as_deref(), Some("MACHINE_LIMIT_EXCEEDED"));

    // The user frees A's slot from B, then B activates.
    let machines = b.machines().unwrap();
    assert_eq!(
        machines.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        vec![a_machine.as_str()]
    );
    assert_eq!(machines[0].fingerprint, "fp-a");
    b.deactivate(Some(&a_machine)).unwrap();
    assert_eq!(
        b.validate(VALIDATE_AUTO_ACTIVATE).unwrap().code,
        Code::Valid
    );
    assert_eq!(a.validate(0).unwrap().code, Code::FingerprintScopeMismatch);
}

#[test]
fn floating_licenses_activate_until_full() {
    let env = Env::new();
    let (_, key) =
        env.license(&env.policy(json!({ "strict": true, "floating": true, "maxMachines": 2 })));
    for fp in ["fl-1", "fl-2"] {
        let v = env
            .client(&key, fp)
            .validate(VALIDATE_AUTO_ACTIVATE)
            .unwrap();
        assert_eq!((v.code, v.valid), (Code::Valid, true), "{fp}");
    }
    let e = env
        .client(&key, "fl-3")
        .validate(VALIDATE_AUTO_ACTIVATE)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::MachineLimitExceeded);
}

#[test]
fn non_strict_policy() {
    let env = Env::new();
    let (_, key) =
        env.license(&env.policy(json!({ "strict": false, "floating": false, "maxMachines": 1 })));
    let c = env.client(&key, "ns-1");
    // The fingerprint scope still reports the missing activation (rule 11).
    assert_eq!(c.validate(0).unwrap().code, Code::NoMachine);
    assert_eq!(
        c.validate(VALIDATE_AUTO_ACTIVATE).unwrap().code,
        Code::Valid
    );
}

#[test]
fn unknown_key_is_a_verdict() {
    let env = Env::new();
    env.node_locked();
    let v = env.client("NO-SUCH-KEY", "fp").validate(0).unwrap();
    assert_eq!((v.code, v.valid), (Code::NotFound, false));
    assert!(v.license.is_none());
    let e = env.client("NO-SUCH-KEY", "fp").activate().unwrap_err();
    assert_eq!(e.kind, ErrorKind::LicenseInvalid);
}

#[test]
fn suspended_license() {
    let env = Env::new();
    let (id, key) = env.license(&env.node_locked());
    let c = env.client(&key, "fp-s");
    c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    env.admin.suspend_license(&id);
    let v = c.validate(0).unwrap();
    assert_eq!((v.code, v.valid), (Code::Suspended, false));
    // Key auth of a suspended license is refused outright.
    assert_eq!(
        env.client(&key, "fp-s2").activate().unwrap_err().kind,
        ErrorKind::LicenseSuspended
    );
    env.admin.reinstate_license(&id);
    assert_eq!(c.validate(0).unwrap().code, Code::Valid);
}

#[test]
fn expiry_under_each_strategy() {
    let env = Env::new();
    for (strategy, valid) in [
        ("RESTRICT_ACCESS", false),
        ("MAINTAIN_ACCESS", true),
        ("ALLOW_ACCESS", true),
        ("REVOKE_ACCESS", false),
    ] {
        let policy =
            env.policy(json!({ "strict": true, "maxMachines": 1, "expirationStrategy": strategy }));
        let (id, key) = env.license(&policy);
        let c = env.client(&key, &format!("fp-{strategy}"));
        c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
        env.admin
            .update_license(&id, json!({ "expiry": "2020-01-01T00:00:00.000Z" }));
        let v = c.validate(0).unwrap();
        assert_eq!((v.code, v.valid), (Code::Expired, valid), "{strategy}");
        assert!(v.license.unwrap().expiry.is_some());
        let other = env.client(&key, &format!("fp2-{strategy}"));
        let r = other.validate(0).unwrap();
        if strategy == "REVOKE_ACCESS" {
            assert_eq!(
                r.code,
                Code::Expired,
                "REVOKE is checked before the fingerprint"
            );
            assert_eq!(
                other.activate().unwrap_err().kind,
                ErrorKind::LicenseExpired
            );
        } else {
            // Expiry is checked after the fingerprint for the other strategies.
            assert_eq!(r.code, Code::FingerprintScopeMismatch, "{strategy}");
        }
    }
}

#[test]
fn license_key_auth_not_allowed_is_plain() {
    let env = Env::new();
    let (_, key) = env.license(
        &env.policy(json!({ "strict": true, "maxMachines": 1, "authenticationStrategy": "TOKEN" })),
    );
    let c = env.client(&key, "fp-t");
    assert_eq!(
        c.validate(0).unwrap().code,
        Code::NoMachine,
        "validate-key needs no authentication"
    );
    let e = c.activate().unwrap_err();
    assert_eq!(e.kind, ErrorKind::LicenseNotAllowed);
    assert!(
        e.message.contains("authenticationStrategy"),
        "{}",
        e.message
    );
}

#[test]
fn product_scope() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let mut cfg = env.config(&key, "fp-p");
    cfg.product_id = Some(env.product.clone());
    let c = lic::client::Client::new(cfg.clone()).unwrap();
    assert_eq!(
        c.validate(VALIDATE_AUTO_ACTIVATE).unwrap().code,
        Code::Valid
    );
    cfg.product_id = Some(env.admin.create_product("Other"));
    let other = lic::client::Client::new(cfg).unwrap();
    assert_eq!(other.validate(0).unwrap().code, Code::ProductScopeMismatch);
}

#[test]
fn entitlements_reach_the_result() {
    let env = Env::new();
    let policy = env.node_locked();
    let (license, key) = env.license(&policy);
    let (status, ent) = env.admin.request("POST", "/v1/entitlements", Some(&json!({"data": {"type": "entitlements", "attributes": {"name": "Pro", "code": "PRO"}}}))).unwrap();
    assert_eq!(status, 201, "{ent}");
    let ent_id = ent["data"]["id"].as_str().unwrap();
    let (status, body) = env
        .admin
        .request(
            "POST",
            &format!("/v1/licenses/{license}/entitlements"),
            Some(&json!({"data": [{"type": "entitlements", "id": ent_id}]})),
        )
        .unwrap();
    assert!(status < 300, "{status} {body}");
    let v = env
        .client(&key, "fp-e")
        .validate(VALIDATE_AUTO_ACTIVATE)
        .unwrap();
    assert_eq!(v.entitlements, vec!["PRO".to_string()]);
}

#[test]
fn one_client_many_threads() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let c = env.client(&key, "fp-threads");
    c.activate().unwrap();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || {
                (0..10)
                    .map(|_| c.validate(VALIDATE_ONLINE_ONLY).unwrap().code)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap().iter().all(|c| *c == Code::Valid));
    }
}

#[test]
fn non_ascii_keys_work_and_never_leak() {
    let env = Env::new();
    let policy = env.node_locked();
    let key = "clé-ünïcode-ключ-鍵";
    let (_, created) = env.admin.create_license(&policy, json!({ "key": key }));
    assert_eq!(created, key);
    let c = env.client(key, "fp-unicode");
    let v = c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    assert_eq!(v.code, Code::Valid);
    assert!(v.machine_id.is_some());
    c.deactivate(None).unwrap();
    // An error message about a request that carried the key does not show it.
    env.admin
        .set_fault(json!({ "mode": "status", "status": 500, "path": "machines" }));
    let e = c.activate().unwrap_err();
    assert!(!e.message.contains(key), "{}", e.message);
}
