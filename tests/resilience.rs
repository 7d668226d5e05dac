//! A server that lies, stalls or disappears (lic-devserver's fault modes):
//! every case ends in a documented status, within the deadline, and never
//! changes what lic believes about the license.

mod common;

use std::time::{Duration, Instant};

use common::Env;
use lic::client::{VALIDATE_AUTO_ACTIVATE, VALIDATE_ONLINE_ONLY};
use lic::error::ErrorKind;
use lic::model::{Source, ValidationCode as Code};
use serde_json::json;

fn activated(env: &Env, fp: &str) -> lic::client::Client {
    let (_, key) = env.license(&env.node_locked());
    let c = env.client(&key, fp);
    assert_eq!(
        c.validate(VALIDATE_AUTO_ACTIVATE).unwrap().code,
        Code::Valid
    );
    c
}

#[test]
fn forged_answers_are_no_answer() {
    let env = Env::new();
    let c = activated(&env, "fp-forged");
    for (mode, kind) in [
        ("tamper", ErrorKind::SignatureInvalid),
        ("unsigned", ErrorKind::SignatureInvalid),
        ("wrong_key", ErrorKind::SignatureInvalid),
        ("stale_date", ErrorKind::ResponseMismatch),
        ("replay", ErrorKind::ResponseMismatch),
    ] {
        env.admin
            .set_fault(json!({ "mode": mode, "path": "validate-key" }));
        let e = c.validate(VALIDATE_ONLINE_ONLY).unwrap_err();
        assert_eq!(e.kind, kind, "{mode}: {}", e.message);
        // With the cached file the same failure yields an offline answer.
        env.admin
            .set_fault(json!({ "mode": mode, "path": "validate-key" }));
        let v = c.validate(0).unwrap();
        assert_eq!(
            (v.code, v.source),
            (Code::Valid, Source::CachedFile),
            "{mode}"
        );
        env.admin.clear_faults();
    }
}

#[test]
fn transient_failures_are_retried_within_the_deadline() {
    let env = Env::new();
    let c = activated(&env, "fp-retry");
    for fault in [
        json!({ "mode": "status", "status": 503, "count": 2, "path": "validate-key" }),
        json!({ "mode": "status", "status": 502, "count": 1, "path": "validate-key" }),
        json!({ "mode": "rate_limit", "retry_after": 1, "count": 1, "path": "validate-key" }),
        json!({ "mode": "refuse", "count": 1, "path": "validate-key" }),
        json!({ "mode": "drop", "count": 1, "path": "validate-key" }),
    ] {
        env.admin.set_fault(fault.clone());
        let v = c
            .validate(VALIDATE_ONLINE_ONLY)
            .unwrap_or_else(|e| panic!("{fault}: {e}"));
        assert_eq!((v.code, v.source), (Code::Valid, Source::Online), "{fault}");
    }
}

#[test]
fn hard_failures_have_their_own_status_and_respect_the_deadline() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let mut cfg = env.config(&key, "fp-hard");
    cfg.timeout = Duration::from_millis(1500);
    let c = lic::client::Client::new(cfg).unwrap();
    c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    for (fault, kind) in [
        (
            json!({ "mode": "status", "status": 500, "path": "validate-key" }),
            ErrorKind::ServerError,
        ),
        (
            json!({ "mode": "status", "status": 503, "count": 0, "path": "validate-key" }),
            ErrorKind::ServerError,
        ),
        (
            json!({ "mode": "rate_limit", "retry_after": 30, "path": "validate-key" }),
            ErrorKind::RateLimited,
        ),
        (
            json!({ "mode": "hang", "delay_ms": 5000, "path": "validate-key" }),
            ErrorKind::Timeout,
        ),
        (json!({ "mode": "offline" }), ErrorKind::Network),
    ] {
        env.admin.set_fault(fault.clone());
        let started = Instant::now();
        let e = c.validate(VALIDATE_ONLINE_ONLY).unwrap_err();
        assert_eq!(e.kind, kind, "{fault}: {}", e.message);
        assert!(
            started.elapsed() < Duration::from_millis(1500 + 1000),
            "{fault} took {:?}",
            started.elapsed()
        );
        env.admin.clear_faults();
    }
    // 429's wait is reported.
    env.admin
        .set_fault(json!({ "mode": "rate_limit", "retry_after": 30, "path": "validate-key" }));
    assert_eq!(
        c.validate(VALIDATE_ONLINE_ONLY).unwrap_err().retry_after,
        Some(30)
    );
    env.admin.clear_faults();
    assert_eq!(c.validate(0).unwrap().code, Code::Valid);
}

#[test]
fn unsigned_errors_never_count_as_a_refusal() {
    let env = Env::new();
    let c = activated(&env, "fp-unsigned-error");
    // An unsigned 403 (what a fake server would send to revoke) is not evidence.
    env.admin
        .set_fault(json!({ "mode": "status", "status": 403, "path": "machines" }));
    let e = c.deactivate(None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::SignatureInvalid, "{}", e.message);
    env.admin.clear_faults();
    assert_eq!(
        c.validate(0).unwrap().code,
        Code::Valid,
        "the machine is still activated"
    );
}
