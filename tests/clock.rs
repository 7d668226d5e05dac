//! Time travel on the client side: a clock wound back, and a cached file
//! outliving its expiry. These move this process's clock
//! (`lic::time::set_clock_offset_for_tests`, Rust-only), so they live in their
//! own test binary and run one at a time.

mod common;

use common::Env;
use lic::client::{ClockState, VALIDATE_AUTO_ACTIVATE, VALIDATE_ONLINE_ONLY};
use lic::error::ErrorKind;
use lic::model::{Source, ValidationCode as Code};
use lic::time::set_clock_offset_for_tests;
use parking_lot::Mutex;
use serde_json::json;

static CLOCK: Mutex<()> = Mutex::new(());
const HOUR: i64 = 3_600_000;

struct Offset;
impl Offset {
    fn set(ms: i64) -> Offset {
        set_clock_offset_for_tests(ms);
        Offset
    }
}
impl Drop for Offset {
    fn drop(&mut self) {
        set_clock_offset_for_tests(0);
    }
}

#[test]
fn clock_wound_back_is_caught_online_and_offline() {
    let _serial = CLOCK.lock();
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let c = env.client(&key, "fp-clock");
    let v = c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    assert_eq!((v.code, v.clock), (Code::Valid, ClockState::Ok));

    let _back = Offset::set(-24 * HOUR);
    // Online: the signed Date is a day away from the local clock.
    let e = c.validate(VALIDATE_ONLINE_ONLY).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResponseMismatch, "{}", e.message);
    // With fallback: the cached file answers, but the clock is behind the
    // latest trusted time, so the verdict is CLOCK_TAMPERED, not VALID.
    let v = c.validate(0).unwrap();
    assert_eq!(v.source, Source::CachedFile);
    assert_eq!((v.code, v.valid), (Code::ClockTampered, false));
    assert!(
        matches!(v.clock, ClockState::Tampered { behind_ms } if behind_ms > 23 * HOUR),
        "{:?}",
        v.clock
    );
    assert!(v.detail.contains("behind"), "{}", v.detail);
    // A fresh process reads the sealed mark from disk and says the same.
    let fresh = env.client(&key, "fp-clock");
    assert_eq!(fresh.validate(0).unwrap().code, Code::ClockTampered);

    // Editing the mark file is detected (HMAC): it counts as no mark, and
    // the cached file's own issue time still catches the clock.
    for entry in std::fs::read_dir(env.dir.path.join("fp-clock"))
        .unwrap()
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with("clock-") {
            std::fs::write(entry.path(), "lic-clockmark-v1 0 00").unwrap();
        }
    }
    let fresh = env.client(&key, "fp-clock");
    assert_eq!(fresh.validate(0).unwrap().code, Code::ClockTampered);
}

#[test]
fn cached_file_expires_on_its_own_schedule() {
    let _serial = CLOCK.lock();
    let env = Env::new();
    let (license_id, key) = env.license(&env.node_locked());
    let mut cfg = env.config(&key, "fp-ttl");
    cfg.checkout_ttl = Some(3600);
    let c = lic::client::Client::new(cfg.clone()).unwrap();
    c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    env.admin
        .update_license(&license_id, json!({ "expiry": "2099-01-01T00:00:00.000Z" }));

    env.admin.set_fault(json!({ "mode": "offline" }));
    let v = c.validate(0).unwrap();
    assert_eq!((v.code, v.source), (Code::Valid, Source::CachedFile));
    let file_expiry = v.file_expiry.expect("a file with a ttl expires");

    let _later = Offset::set(2 * HOUR);
    let v = c.validate(0).unwrap();
    assert_eq!((v.code, v.valid), (Code::FileExpired, false));
    assert_eq!(v.file_expiry, Some(file_expiry));
    assert!(v.detail.contains("expired"), "{}", v.detail);
    // The license's own expiry is reported separately (it is not expired).
    assert!(
        v.license.as_ref().unwrap().expiry.is_none()
            || v.license.as_ref().unwrap().expiry > Some(lic::time::now_ms())
    );

    // An app limit shorter than the file's ttl.
    drop(_later);
    let _half = Offset::set(HOUR / 2);
    cfg.max_offline_age = Some(std::time::Duration::from_secs(600));
    let strict = lic::client::Client::new(cfg).unwrap();
    let v = strict.validate(0).unwrap();
    assert_eq!(v.code, Code::FileExpired);
    assert!(v.detail.contains("offline limit"), "{}", v.detail);
}

#[test]
fn a_clock_wound_back_does_not_extend_the_grace() {
    let _serial = CLOCK.lock();
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let mut cfg = env.config(&key, "fp-grace-clock");
    cfg.offline_grace = Some(std::time::Duration::from_secs(3600));
    let c = lic::client::Client::new(cfg.clone()).unwrap();
    let t0 = c
        .validate(VALIDATE_AUTO_ACTIVATE)
        .unwrap()
        .last_online
        .unwrap();
    env.admin.set_fault(json!({ "mode": "offline" }));

    let half = Offset::set(HOUR / 2);
    let v = c.validate(0).unwrap();
    assert_eq!((v.code, v.source), (Code::Valid, Source::CachedFile));
    let left = v.grace_left_ms.unwrap();
    assert!(left <= HOUR / 2 && left > HOUR / 2 - 60_000, "{left}");
    drop(half);

    let _late = Offset::set(2 * HOUR);
    let v = c.validate(0).unwrap();
    assert_eq!((v.code, v.valid), (Code::GraceExpired, false));
    assert_eq!(v.grace_expiry, Some(t0 + HOUR));
    drop(_late);

    // Winding the clock back to where the grace had time left gives none back,
    // in this process and in the next one.
    let v = c.validate(0).unwrap();
    assert_eq!((v.code, v.grace_left_ms), (Code::GraceExpired, Some(0)));
    let fresh = lic::client::Client::new(cfg.clone()).unwrap();
    assert_eq!(fresh.validate(0).unwrap().code, Code::GraceExpired);

    // Online again: the grace starts over.
    env.admin.clear_faults();
    assert_eq!(c.validate(0).unwrap().source, Source::Online);
    env.admin.set_fault(json!({ "mode": "offline" }));
    let late = Offset::set(50 * 60_000);
    let v = c.validate(0).unwrap();
    assert_eq!(v.code, Code::Valid, "{}", v.detail);
    assert!(v.grace_left_ms.unwrap() <= 10 * 60_000);
    drop(late);
    // Setting the clock back 50 minutes (beyond the 10-minute tolerance)
    // while offline ends the grace rather than extending it.
    let v = c.validate(0).unwrap();
    assert_eq!((v.code, v.valid), (Code::GraceExpired, false));
    assert!(v.detail.contains("set back"), "{}", v.detail);
}
