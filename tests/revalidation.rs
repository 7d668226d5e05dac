//! Background revalidation and the offline grace against the devserver, in
//! real time with short intervals: a suspension reaches the app as an event
//! within one interval, runs never come more often than the interval, an
//! outage longer than the grace ends in GRACE_EXPIRED (also after a
//! restart), `lic_client_free` stops the thread within a second and
//! delivers nothing afterwards, and the diagnostics bundle tells what
//! happened without the key or the token.

mod common;

use std::ffi::{c_void, CStr, CString};
use std::process::Command;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Env;
use lic::client::{Client, VALIDATE_AUTO_ACTIVATE};
use lic::events::{Event, EventKind};
use lic::ffi::status::lic_status::*;
use lic::model::{Source, ValidationCode as Code};
use serde_json::{json, Value};

fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

struct Seen(Vec<(Instant, Event)>);

impl Seen {
    fn drain(&mut self, c: &Client) {
        while let Some(e) = c.poll_event() {
            self.0.push((Instant::now(), e));
        }
    }
    fn first(&mut self, c: &Client, kind: EventKind) -> Option<(Instant, Event)> {
        self.drain(c);
        self.0.iter().find(|(_, e)| e.kind == kind).cloned()
    }
}

#[test]
fn a_suspension_reaches_the_app_within_one_interval() {
    let env = Env::new();
    let (id, key) = env.license(&env.node_locked());
    let c = env.client(&key, "fp-suspend");
    assert_eq!(
        c.validate(VALIDATE_AUTO_ACTIVATE).unwrap().code,
        Code::Valid
    );
    let interval = Duration::from_secs(2);
    let started = Instant::now();
    c.start_revalidation(interval).unwrap();
    // Never sooner than the interval.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        c.heartbeat_stats().revalidations,
        0,
        "ran before its interval"
    );
    env.admin.suspend_license(&id);
    let suspended_at = Instant::now();
    let mut seen = Seen(Vec::new());
    // Due within interval + a tenth of jitter of the start; generous slack
    // for the request on a loaded machine.
    let within = interval + interval / 10 + Duration::from_secs(3);
    assert!(
        eventually(within, || seen
            .first(&c, EventKind::LicenseStateChanged)
            .is_some()),
        "no LICENSE_STATE_CHANGED within {within:?}: {:?}",
        seen.0
    );
    let (at, e) = seen.first(&c, EventKind::LicenseStateChanged).unwrap();
    assert!(
        at - started >= interval,
        "arrived before one interval had passed"
    );
    assert!(at - suspended_at <= within);
    assert_eq!(
        e.codes,
        Some(("VALID".to_string(), "SUSPENDED".to_string()))
    );
    assert_eq!(e.message, "VALID -> SUSPENDED");
    // Over a few more intervals: at most one run per interval.
    std::thread::sleep(Duration::from_secs(5));
    let elapsed = started.elapsed();
    let runs = c.heartbeat_stats().revalidations;
    let most = elapsed.as_secs_f64() / interval.as_secs_f64();
    assert!(
        runs >= 2 && runs as f64 <= most,
        "{runs} runs in {elapsed:?} at a {interval:?} interval"
    );
    // The state changed once: no repeated events while it stays SUSPENDED.
    seen.drain(&c);
    let changes = seen
        .0
        .iter()
        .filter(|(_, e)| e.kind == EventKind::LicenseStateChanged)
        .count();
    assert_eq!(changes, 1, "{:?}", seen.0);
    c.stop_revalidation();
    let after = c.heartbeat_stats().revalidations;
    std::thread::sleep(Duration::from_millis(2600));
    assert!(c.heartbeat_stats().revalidations <= after + 1, "stopped");
}

#[test]
fn an_outage_longer_than_the_grace_gives_grace_expired() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let fp = "fp-grace";
    let mut cfg = env.config(&key, fp);
    cfg.offline_grace = Some(Duration::from_secs(3));
    let c = Client::new(cfg.clone()).unwrap();
    let online = c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    assert_eq!(online.code, Code::Valid);
    let t0 = online
        .last_online
        .expect("a verified online answer starts the grace");
    assert_eq!(online.timestamp, Some(t0));
    assert_eq!(online.grace_expiry, Some(t0 + 3000));
    assert_eq!(online.grace_left_ms, Some(3000));

    env.admin.set_fault(json!({ "mode": "offline" }));
    c.start_revalidation(Duration::from_secs(1)).unwrap();
    let mut seen = Seen(Vec::new());
    assert!(
        eventually(Duration::from_secs(10), || {
            seen.drain(&c);
            seen.0.iter().any(|(_, e)| {
                e.kind == EventKind::LicenseStateChanged
                    && e.codes
                        .as_ref()
                        .is_some_and(|(_, new)| new == "GRACE_EXPIRED")
            })
        }),
        "{:?}",
        seen.0
    );
    let kinds: Vec<EventKind> = seen.0.iter().map(|(_, e)| e.kind).collect();
    let pos = |k: EventKind| kinds.iter().position(|x| *x == k);
    let (entered, expiring, changed) = (
        pos(EventKind::OfflineEntered).expect("OFFLINE_ENTERED"),
        pos(EventKind::GraceExpiring).expect("GRACE_EXPIRING"),
        pos(EventKind::LicenseStateChanged).unwrap(),
    );
    assert!(entered <= expiring && expiring < changed, "{kinds:?}");
    let warning = &seen.0[expiring].1;
    assert!(warning
        .time_left
        .is_some_and(|l| l <= Duration::from_secs(3)));
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == EventKind::GraceExpiring)
            .count(),
        1,
        "warned once"
    );
    c.stop_revalidation();

    let v = c.validate(0).unwrap();
    assert_eq!(v.source, Source::CachedFile);
    assert_eq!((v.code, v.valid), (Code::GraceExpired, false));
    assert_eq!((v.last_online, v.grace_expiry), (Some(t0), Some(t0 + 3000)));
    assert_eq!(v.grace_left_ms, Some(0));
    assert!(v.detail.contains("grace"), "{}", v.detail);
    // A restart does not reset it: the start is kept, sealed, in the cache.
    let restarted = Client::new(cfg.clone()).unwrap();
    let v = restarted.validate(0).unwrap();
    assert_eq!((v.code, v.last_online), (Code::GraceExpired, Some(t0)));

    // Online again: the grace starts over, and the app hears about it.
    env.admin.clear_faults();
    let back = c.validate(0).unwrap();
    assert_eq!((back.code, back.source), (Code::Valid, Source::Online));
    assert!(back.last_online > Some(t0));
    seen.drain(&c);
    let tail: Vec<&Event> = seen.0.iter().map(|(_, e)| e).rev().take(2).collect();
    assert!(
        tail.iter().any(|e| e.kind == EventKind::OfflineLeft),
        "{tail:?}"
    );
    assert!(tail
        .iter()
        .any(|e| e.codes == Some(("GRACE_EXPIRED".to_string(), "VALID".to_string()))));
    env.admin.set_fault(json!({ "mode": "offline" }));
    assert_eq!(c.validate(0).unwrap().code, Code::Valid);
}

#[test]
fn an_offline_answer_never_lifts_a_newer_signed_suspension() {
    let env = Env::new();
    let (id, key) = env.license(&env.node_locked());
    let c = env.client(&key, "fp-lift");
    c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    env.admin.suspend_license(&id);
    assert_eq!(c.validate(0).unwrap().code, Code::Suspended);
    // The cached file was issued before the suspension and says VALID; the
    // newer signed online verdict wins, in this process and the next.
    env.admin.set_fault(json!({ "mode": "offline" }));
    for client in [&c, &env.client(&key, "fp-lift")] {
        let v = client.validate(0).unwrap();
        assert_eq!(v.source, Source::CachedFile);
        assert_eq!((v.code, v.valid), (Code::Suspended, false), "{}", v.detail);
        assert!(
            v.detail.contains("last verified online answer"),
            "{}",
            v.detail
        );
    }
}

fn heartbeat_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.trim() == "lic-heartbeat")
        })
        .count()
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap()
}

unsafe extern "C" fn count_event(user: *mut c_void, _event: *const lic::ffi::events::lic_event) {
    unsafe { &*(user as *const AtomicUsize) }.fetch_add(1, Ordering::SeqCst);
}

/// A C client against the devserver; events counted into `counter`.
unsafe fn c_client(
    env: &Env,
    key: &str,
    fp: &str,
    counter: &AtomicUsize,
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
    assert_eq!(lic_config_set_timeout_ms(cfg, 8000), LIC_STATUS_OK);
    assert_eq!(
        lic_config_set_event_callback(
            cfg,
            Some(count_event),
            counter as *const AtomicUsize as *mut c_void
        ),
        LIC_STATUS_OK
    );
    let mut client = null_mut();
    assert_eq!(
        lic::ffi::client::lic_client_new(cfg, &mut client),
        LIC_STATUS_OK
    );
    lic_config_free(cfg);
    client
}

/// Alone in its process: counts the heartbeat thread around `lic_client_free`.
#[test]
#[ignore = "helper run as a child process by freeing_the_client_stops_the_thread_within_a_second"]
fn free_child() {
    use lic::ffi::client::*;
    use lic::ffi::slots::*;
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let counter = AtomicUsize::new(0);
    unsafe {
        let c = c_client(&env, &key, "fp-free", &counter);
        let mut r = null_mut();
        assert_eq!(
            lic_validate(c, VALIDATE_AUTO_ACTIVATE, &mut r),
            LIC_STATUS_OK
        );
        lic::ffi::result::lic_result_free(r);
        assert_eq!(
            lic_client_start_revalidation(c, -1),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(lic_client_start_revalidation(c, 1), LIC_STATUS_OK);
        assert!(eventually(Duration::from_secs(2), || heartbeat_threads() == 1));
        // Let a revalidation or two run, then free between runs.
        std::thread::sleep(Duration::from_millis(2500));
        let started = Instant::now();
        lic_client_free(c);
        let freed = started.elapsed();
        let gone = eventually(Duration::from_secs(1), || heartbeat_threads() == 0);
        println!(
            "FREE {} ms, thread gone: {gone}, after {} ms",
            freed.as_millis(),
            started.elapsed().as_millis()
        );
    }
}

#[test]
fn freeing_the_client_stops_the_thread_within_a_second() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "free_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.contains("FREE "))
        .expect("the child reported");
    assert!(line.contains("thread gone: true"), "{line}");
    let ms: u64 = line
        .split("FREE ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ms < 1000, "{line}");
}

#[test]
fn freeing_during_a_hanging_revalidation_is_bounded_and_silent() {
    use lic::ffi::client::*;
    use lic::ffi::slots::*;
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let counter = AtomicUsize::new(0);
    unsafe {
        let c = c_client(&env, &key, "fp-hang", &counter);
        let mut r = null_mut();
        assert_eq!(
            lic_validate(c, VALIDATE_AUTO_ACTIVATE, &mut r),
            LIC_STATUS_OK
        );
        lic::ffi::result::lic_result_free(r);
        env.admin.set_fault(json!({ "mode": "hang", "delay_ms": 4000, "path": "/v1/licenses/actions/validate-key" }));
        assert_eq!(lic_client_start_revalidation(c, 1), LIC_STATUS_OK);
        // The first run starts after 1–1.1 s and hangs for 4 s.
        std::thread::sleep(Duration::from_millis(1800));
        let before = counter.load(Ordering::SeqCst);
        let started = Instant::now();
        lic_client_free(c);
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1500), "free took {took:?}");
        std::thread::sleep(Duration::from_secs(5));
        assert_eq!(
            counter.load(Ordering::SeqCst),
            before,
            "an event after lic_client_free"
        );
    }
}

#[test]
fn diagnostics_hold_no_key_or_token_and_say_what_happened() {
    use lic::ffi::support::lic_client_diagnostics;
    let env = Env::new();
    let p = env.policy(json!({
        "strict": true, "floating": true, "maxMachines": 3, "maxProcesses": 2,
        "authenticationStrategy": "MIXED",
    }));
    let (license_id, key) = env.license(&p);
    let (status, t) = env
        .admin
        .request(
            "POST",
            &format!("/v1/licenses/{license_id}/tokens"),
            Some(&json!({ "data": { "type": "tokens", "attributes": {} } })),
        )
        .unwrap();
    assert_eq!(status, 201, "{t}");
    let token = t["data"]["attributes"]["token"]
        .as_str()
        .unwrap()
        .to_string();

    let mut cfg = env.config(&key, "fp-diag");
    cfg.license_token = Some(token.clone());
    cfg.offline_grace = Some(Duration::from_secs(86_400));
    let c = Client::new(cfg).unwrap();
    assert_eq!(
        c.validate(VALIDATE_AUTO_ACTIVATE).unwrap().code,
        Code::Valid
    );
    let _slot = c.acquire_process_slot(Some("diag")).unwrap();
    c.start_revalidation(Duration::from_secs(3600)).unwrap();
    env.admin.set_fault(json!({ "mode": "offline" }));
    assert_eq!(c.validate(0).unwrap().source, Source::CachedFile);
    env.admin.clear_faults();
    let _ = c.deactivate(Some("no-such-machine")).unwrap_err();

    let doc = c.diagnostics(&|k| format!("{k:?}"));
    let text = doc.to_string();
    assert!(
        !text.contains(&key),
        "the license key is in the diagnostics"
    );
    assert!(!text.contains(&token), "the token is in the diagnostics");
    assert!(!text.contains("BEGIN MACHINE FILE"), "file content");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["config"]["license_key_set"], true);
    assert_eq!(doc["config"]["api_url"], env.server.base_url().as_str());
    let history = doc["history"].as_array().unwrap();
    let calls: Vec<&str> = history
        .iter()
        .map(|h| h["call"].as_str().unwrap())
        .collect();
    assert!(calls.ends_with(&["validate", "deactivate"]), "{calls:?}");
    assert_eq!(history[history.len() - 2]["source"], "cached_file");
    assert_eq!(history[history.len() - 1]["status"], "MachineNotActivated");
    assert_eq!(doc["cache"]["machine_file"]["verifies"], true);
    assert!(doc["cache"]["machine_file"]["issued"].is_string());
    assert_eq!(doc["clock"]["state"], "ok");
    assert!(doc["grace"]["last_online_validation"].is_string());
    assert_eq!(doc["heartbeat"]["thread_running"], true);
    assert_eq!(doc["heartbeat"]["revalidation"]["interval_seconds"], 3600);
    assert_eq!(doc["heartbeat"]["beats"][0]["kind"], "slot");
    assert_eq!(doc["slots_held"], 1);
    assert_eq!(
        doc["fingerprint_report"]["activated_machine"]["activated"],
        true
    );

    // Through the C API: status names, the ABI, the same redaction.
    let counter = AtomicUsize::new(0);
    unsafe {
        let cc = c_client(&env, &key, "fp-diag", &counter);
        let mut len = 0usize;
        assert_eq!(
            lic_client_diagnostics(cc, null_mut(), 0, &mut len),
            LIC_STATUS_BUFFER_TOO_SMALL
        );
        let mut buf = vec![0 as std::ffi::c_char; len + 1];
        assert_eq!(
            lic_client_diagnostics(cc, buf.as_mut_ptr(), buf.len(), &mut len),
            LIC_STATUS_OK
        );
        let text = CStr::from_ptr(buf.as_ptr()).to_str().unwrap();
        assert!(!text.contains(&key));
        let doc: Value = serde_json::from_str(text).unwrap();
        assert_eq!(doc["lic"]["abi"], lic::ffi::version::LIC_ABI_VERSION);
        assert_eq!(doc["lic"]["version"], env!("CARGO_PKG_VERSION"));
        lic::ffi::client::lic_client_free(cc);
    }
}
