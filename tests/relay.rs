//! Keygen Relay end to end: Keygen (lic-devserver) checks out license files, a relay
//! (lic-devserver's relay mode) leases them, lic validates from the lease. Claim, extend,
//! renewals, pools, release on free and at exit, a lease lost after missed renewals, the relay
//! down, signatures, tampered files, and two processes after one license.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::TempDir;
use lic::client::{Client, VALIDATE_OFFLINE_ONLY, VALIDATE_ONLINE_ONLY};
use lic::config::Config;
use lic::crypto::{KeySet, PublicKey};
use lic::error::ErrorKind;
use lic::events::{Event, EventKind};
use lic::model::{Source, ValidationCode};
use lic::relay::node_id;
use lic_devserver::{Admin, DevServer, Options, RelayOptions, RelayServer};
use serde_json::json;

struct Setup {
    keygen: DevServer,
    admin: Admin,
    policy: String,
    dir: TempDir,
}

impl Setup {
    fn new() -> Setup {
        let keygen = DevServer::start(Options::default()).unwrap();
        let admin = keygen.admin();
        let product = admin.create_product("Relay product");
        let policy = admin.create_policy(
            &product,
            json!({ "name": "seats", "authenticationStrategy": "LICENSE" }),
        );
        Setup {
            keygen,
            admin,
            policy,
            dir: TempDir::new(),
        }
    }

    /// A relay loaded with `n` fresh licenses (checked out of the devserver) in `pool`.
    fn relay(
        &self,
        n: usize,
        pool: Option<&str>,
        opts: RelayOptions,
    ) -> (RelayServer, Vec<String>) {
        let relay = RelayServer::start(RelayOptions {
            public_key_hex: Some(self.keygen.public_key_hex()),
            ..opts
        })
        .unwrap();
        let ids = (0..n)
            .map(|_| {
                let (id, _) = self.admin.create_license(&self.policy, json!({}));
                relay.add_from_devserver(&self.admin, &id, pool).unwrap()
            })
            .collect();
        (relay, ids)
    }

    fn config(&self, relay: &RelayServer, machine: &str) -> Config {
        Config {
            account_id: Some(self.keygen.account_id()),
            public_keys: KeySet::of(PublicKey::from_hex(&self.keygen.public_key_hex()).unwrap()),
            relay_url: Some(relay.url()),
            fingerprint: Some(machine.to_string()),
            cache_dir: Some(self.dir.path.join(machine)),
            timeout: Duration::from_secs(5),
            ..Config::default()
        }
    }

    fn client(&self, relay: &RelayServer, machine: &str) -> Client {
        Client::new(self.config(relay, machine)).unwrap()
    }
}

/// A relay whose leases last `ttl` seconds, reaped every second.
fn short(ttl: u64) -> RelayOptions {
    RelayOptions {
        ttl: Duration::from_secs(ttl),
        min_ttl: Duration::from_secs(1),
        cull_interval: Duration::from_secs(1),
        ..RelayOptions::default()
    }
}

fn holder(relay: &RelayServer, license: &str) -> Option<String> {
    relay
        .licenses()
        .into_iter()
        .find(|l| l.id == license)
        .and_then(|l| l.node)
}

/// Polls the client's events until one of `kind` arrives (returning every event seen).
fn wait_for(client: &Client, kind: EventKind, within: Duration) -> Vec<Event> {
    let start = Instant::now();
    let mut seen = Vec::new();
    loop {
        while let Some(e) = client.poll_event() {
            let done = e.kind == kind;
            seen.push(e);
            if done {
                return seen;
            }
        }
        assert!(
            start.elapsed() < within,
            "no {kind:?} within {within:?}; saw {:?}",
            seen.iter()
                .map(|e| (e.kind, e.message.clone()))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn now_s() -> i64 {
    lic::time::now_ms() / 1000
}

#[test]
fn validate_claims_a_lease_and_answers_from_its_verified_file_then_extends() {
    let s = Setup::new();
    let (relay, ids) = s.relay(2, None, RelayOptions::default());
    let client = s.client(&relay, "machine-a");
    let v = client.validate(0).unwrap();
    assert_eq!(
        (v.code, v.valid, v.source),
        (ValidationCode::Valid, true, Source::Relay)
    );
    assert!(
        v.verified && v.certificate.is_some(),
        "an offline-verified answer"
    );
    let license = v.license.as_ref().unwrap().id.clone();
    assert!(ids.contains(&license));
    // The node id without a pool is the fingerprint itself.
    assert_eq!(holder(&relay, &license).as_deref(), Some("machine-a"));
    let expiry = v.lease_expiry.unwrap() / 1000;
    assert!(
        (now_s() + 55..=now_s() + 61).contains(&expiry),
        "lease until {expiry}"
    );
    // Validating again extends the same lease (202): same license, not a second claim.
    std::thread::sleep(Duration::from_millis(1100));
    let again = client.validate(0).unwrap();
    assert_eq!(again.source, Source::Relay);
    assert_eq!(again.license.unwrap().id, license);
    assert!(again.lease_expiry.unwrap() >= v.lease_expiry.unwrap());
    let row = relay
        .licenses()
        .into_iter()
        .find(|l| l.id == license)
        .unwrap();
    assert_eq!(row.claims, 1, "an extension is not a new claim");
    // No LEASE_LOST or OFFLINE_ENTERED from a relay answer: it is a live one.
    while let Some(e) = client.poll_event() {
        assert!(
            !matches!(e.kind, EventKind::LeaseLost | EventKind::OfflineEntered),
            "{e:?}"
        );
    }
}

#[test]
fn the_heartbeat_thread_renews_the_lease_at_half_its_ttl() {
    let s = Setup::new();
    let (relay, ids) = s.relay(1, None, short(6));
    let client = s.client(&relay, "machine-a");
    let v = client.validate(0).unwrap();
    assert_eq!(v.source, Source::Relay);
    let started = Instant::now();
    // Three TTLs with the reaper running every second: only renewals keep the lease.
    let mut renewed = 0;
    while started.elapsed() < Duration::from_secs(18) {
        while let Some(e) = client.poll_event() {
            assert_ne!(e.kind, EventKind::LeaseLost, "{}", e.message);
            renewed += (e.kind == EventKind::LeaseRenewed) as u32;
        }
        assert_eq!(holder(&relay, &ids[0]).as_deref(), Some("machine-a"));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(renewed >= 3, "{renewed} renewals in 18 s at a 6 s TTL");
    assert!(client.heartbeat_stats().renewals >= 3);
}

#[test]
fn an_exhausted_pool_is_its_own_status_naming_the_pool() {
    let s = Setup::new();
    let (relay, _) = s.relay(1, Some("cad-seats"), RelayOptions::default());
    let mut cfg = s.config(&relay, "machine-a");
    cfg.relay_pool = Some("cad-seats".into());
    let a = Client::new(cfg.clone()).unwrap();
    assert_eq!(a.validate(0).unwrap().source, Source::Relay);
    // The node id in a pool is HMAC-SHA256(key = fingerprint, message = pool).
    assert_eq!(
        relay.licenses()[0].node.as_deref(),
        Some(node_id("machine-a", Some("cad-seats")).as_str())
    );
    cfg.fingerprint = Some("machine-b".into());
    cfg.cache_dir = Some(s.dir.path.join("machine-b"));
    let b = Client::new(cfg).unwrap();
    let e = b.validate(0).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoLicenseAvailable);
    assert!(e.message.contains("pool \"cad-seats\""), "{}", e.message);
    // A definite answer: no offline fallback (not even with a file cached for this machine).
    assert_eq!(
        b.validate(0).unwrap_err().kind,
        ErrorKind::NoLicenseAvailable
    );
    // The global pool is another pool: empty here.
    let c = s.client(&relay, "machine-c");
    assert_eq!(
        c.validate(0).unwrap_err().kind,
        ErrorKind::NoLicenseAvailable
    );
    // A pool the relay does not have is a refusal, not an empty pool.
    let mut bad = s.config(&relay, "machine-d");
    bad.relay_pool = Some("nope".into());
    let e = Client::new(bad).unwrap().validate(0).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ServerRejected);
    assert!(e.message.contains("no such pool"), "{}", e.message);
}

#[test]
fn freeing_the_client_releases_the_lease() {
    let s = Setup::new();
    let (relay, ids) = s.relay(1, None, RelayOptions::default());
    let a = s.client(&relay, "machine-a");
    a.validate(0).unwrap();
    assert_eq!(holder(&relay, &ids[0]).as_deref(), Some("machine-a"));
    let b = s.client(&relay, "machine-b");
    assert_eq!(
        b.validate(0).unwrap_err().kind,
        ErrorKind::NoLicenseAvailable
    );
    a.shutdown();
    drop(a);
    assert_eq!(holder(&relay, &ids[0]), None, "released on free");
    assert_eq!(b.validate(0).unwrap().source, Source::Relay);
}

#[test]
fn a_missed_renewal_loses_the_lease_with_events_and_another_machine_can_take_it() {
    let s = Setup::new();
    let (relay, ids) = s.relay(1, None, short(4));
    let a = s.client(&relay, "machine-a");
    assert_eq!(a.validate(0).unwrap().source, Source::Relay);
    // The relay stops answering this machine (every request is reset).
    relay.set_fault(json!({ "mode": "offline" }));
    let seen = wait_for(&a, EventKind::LeaseLost, Duration::from_secs(20));
    let failed: Vec<&Event> = seen
        .iter()
        .filter(|e| e.kind == EventKind::LeaseRenewalFailed)
        .collect();
    assert!(
        !failed.is_empty(),
        "renewals were retried before the lease ended"
    );
    assert!(failed[0].attempt >= 1 && failed[0].time_left.is_some());
    assert!(seen
        .last()
        .unwrap()
        .message
        .contains("before the lease ended"));
    // Meanwhile validation answers from the cached file, offline.
    let v = a.validate(0).unwrap();
    assert_eq!((v.source, v.valid), (Source::CachedFile, true));
    assert!(
        v.offline_reason.as_deref().unwrap_or("").contains("relay"),
        "{:?}",
        v.offline_reason
    );
    // The relay reaps the lease: another machine gets the license.
    relay.clear_faults();
    let deadline = Instant::now() + Duration::from_secs(20);
    while holder(&relay, &ids[0]).as_deref() == Some("machine-a") {
        assert!(
            Instant::now() < deadline,
            "the relay never reaped the lease"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The race between machine-b and machine-a's own retry decides who holds it; make it b.
    relay.set_fault(json!({ "mode": "offline", "path": "/v1/nodes/machine-a" }));
    let b = s.client(&relay, "machine-b");
    assert_eq!(b.validate(0).unwrap().source, Source::Relay);
    relay.clear_faults();
    // machine-a's background claim finds the pool empty: lost it stays.
    std::thread::sleep(Duration::from_secs(3));
    while let Some(e) = a.poll_event() {
        assert_ne!(e.kind, EventKind::LeaseRecovered, "{}", e.message);
    }
    assert_eq!(
        a.validate(0).unwrap_err().kind,
        ErrorKind::NoLicenseAvailable
    );
    // machine-b leaves; machine-a's background claim gets the license back.
    b.shutdown();
    drop(b);
    let seen = wait_for(&a, EventKind::LeaseRecovered, Duration::from_secs(20));
    assert!(seen.last().unwrap().message.contains(&ids[0]));
    assert_eq!(holder(&relay, &ids[0]).as_deref(), Some("machine-a"));
}

#[test]
fn an_unreachable_relay_falls_back_to_the_cached_file() {
    let s = Setup::new();
    let (relay, _) = s.relay(1, None, RelayOptions::default());
    let first = s.client(&relay, "machine-a");
    let online = first.validate(0).unwrap();
    first.shutdown();
    drop(first);
    // The cached file is the relay's (by its URL and pool): same URL, relay gone.
    let mut cfg = s.config(&relay, "machine-a");
    drop(relay);
    let c = Client::new(cfg.clone()).unwrap();
    let v = c.validate(0).unwrap();
    assert_eq!(
        (v.code, v.source),
        (ValidationCode::Valid, Source::CachedFile)
    );
    assert_eq!(v.license.unwrap().id, online.license.unwrap().id);
    let why = v.offline_reason.unwrap();
    assert!(why.contains("cannot reach the relay"), "{why}");
    assert_eq!(v.lease_expiry, None);
    let offline = c.validate(VALIDATE_OFFLINE_ONLY).unwrap();
    assert_eq!(offline.source, Source::CachedFile);
    assert_eq!(
        c.validate(VALIDATE_ONLINE_ONLY).unwrap_err().kind,
        ErrorKind::Network
    );
    // Another machine has nothing cached.
    cfg.fingerprint = Some("machine-b".into());
    cfg.cache_dir = Some(s.dir.path.join("machine-b"));
    let e = Client::new(cfg).unwrap().validate(0).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoOfflineData);
}

#[test]
fn with_a_secret_only_answers_signed_with_it_are_believed() {
    let s = Setup::new();
    let signed = RelayOptions {
        signing_secret: Some("hunter2".into()),
        ..RelayOptions::default()
    };
    let (relay, ids) = s.relay(1, None, signed);
    // The wrong secret: never believed, nothing cached, no offline answer to fall back to.
    let mut cfg = s.config(&relay, "machine-a");
    cfg.relay_secret = Some("wrong".into());
    let wrong = Client::new(cfg.clone()).unwrap();
    let e = wrong.validate(VALIDATE_ONLINE_ONLY).unwrap_err();
    assert_eq!(e.kind, ErrorKind::SignatureInvalid);
    assert!(
        e.message.contains("Relay-Signature does not match"),
        "{}",
        e.message
    );
    let e = wrong.validate(0).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoOfflineData, "{}", e.message);
    // The relay did lease the license to that answer lic did not believe: given back.
    assert_eq!(holder(&relay, &ids[0]), None);
    assert!(s
        .dir
        .path
        .join("machine-a")
        .read_dir()
        .map_or(true, |mut d| d.next().is_none()));
    // The right one.
    cfg.relay_secret = Some("hunter2".into());
    let right = Client::new(cfg.clone()).unwrap();
    let v = right.validate(0).unwrap();
    assert_eq!((v.source, v.valid), (Source::Relay, true));
    // Then an answer altered in transit, and one stripped of its signature: not believed; the
    // cached file answers instead.
    for mode in ["tamper", "unsigned", "wrong_key"] {
        relay.set_fault(json!({ "mode": mode }));
        let v = right.validate(0).unwrap();
        assert_eq!(v.source, Source::CachedFile, "{mode}");
        assert!(
            v.offline_reason.unwrap().contains("Relay-Signature"),
            "{mode}"
        );
    }
    // A stale signed time is a replay.
    relay.set_fault(json!({ "mode": "stale_date", "skew_seconds": 3600 }));
    assert_eq!(
        right.validate(VALIDATE_ONLINE_ONLY).unwrap_err().kind,
        ErrorKind::ResponseMismatch
    );
    assert_eq!(right.validate(0).unwrap().source, Source::Relay);
    // A secret set against a relay that signs nothing: unsigned answers are refused.
    let (plain, _) = s.relay(1, None, RelayOptions::default());
    let mut cfg = s.config(&plain, "machine-b");
    cfg.relay_secret = Some("hunter2".into());
    let e = Client::new(cfg)
        .unwrap()
        .validate(VALIDATE_ONLINE_ONLY)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::SignatureInvalid);
    assert!(e.message.contains("no Relay-Signature"), "{}", e.message);
    // Without a secret the signature is not needed.
    assert_eq!(
        s.client(&relay, "machine-c").validate(0).unwrap_err().kind,
        ErrorKind::NoLicenseAvailable
    );
    assert_eq!(holder(&relay, &ids[0]).as_deref(), Some("machine-a"));
}

#[test]
fn a_license_file_that_does_not_verify_is_refused_and_its_lease_given_back() {
    let s = Setup::new();
    let relay = RelayServer::start(RelayOptions::default()).unwrap();
    let (id, key) = s.admin.create_license(&s.policy, json!({}));
    let (file, _) = lic_devserver::checkout_license_file(&s.admin, &id).unwrap();
    // One character of the signed payload changed, as if Relay's database had been edited
    // (Relay checks files at `relay add` only).
    relay
        .add_license_unchecked(&id, &common::tamper_certificate(&file), &key, None)
        .unwrap();
    let client = s.client(&relay, "machine-a");
    let e = client.validate(VALIDATE_ONLINE_ONLY).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::SignatureInvalid | ErrorKind::FileMalformed
        ),
        "{e:?}"
    );
    assert!(e.message.contains("does not verify"), "{}", e.message);
    assert_eq!(
        holder(&relay, &id),
        None,
        "the refused lease was given back"
    );
    let e = client.validate(0).unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::NoOfflineData,
        "nothing was cached: {}",
        e.message
    );
    // A genuine file with the wrong key in the relay's database: it does not decrypt.
    let (id2, _) = s.admin.create_license(&s.policy, json!({}));
    let (file2, _) = lic_devserver::checkout_license_file(&s.admin, &id2).unwrap();
    let relay2 = RelayServer::start(RelayOptions::default()).unwrap();
    relay2
        .add_license_unchecked(&id2, &file2, "NOT-THE-KEY", None)
        .unwrap();
    let e = s
        .client(&relay2, "machine-b")
        .validate(VALIDATE_ONLINE_ONLY)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::DecryptionFailed, "{}", e.message);
    // A genuine file of another Keygen account.
    let other = Setup::new();
    let (id3, _) = other.admin.create_license(&other.policy, json!({}));
    let (file3, key3) = lic_devserver::checkout_license_file(&other.admin, &id3).unwrap();
    let relay3 = RelayServer::start(RelayOptions::default()).unwrap();
    relay3
        .add_license_unchecked(&id3, &file3, &key3, None)
        .unwrap();
    let e = s
        .client(&relay3, "machine-c")
        .validate(VALIDATE_ONLINE_ONLY)
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::SignatureInvalid, "{}", e.message);
}

#[test]
fn the_relays_clock_gives_the_lease_end_and_never_moves_lics_clock_mark() {
    let s = Setup::new();
    let (relay, _) = s.relay(1, None, RelayOptions::default());
    // The relay's clock is an hour ahead of this machine's.
    relay.advance_clock(3600);
    let client = s.client(&relay, "machine-a");
    let v = client.validate(0).unwrap();
    let expiry = v.lease_expiry.unwrap() / 1000;
    assert!(
        (now_s() + 55..=now_s() + 61).contains(&expiry),
        "the lease ends a TTL from now on this machine's clock, not the relay's: {expiry}"
    );
    assert_eq!(v.clock, lic::model::ClockState::Ok);
    let d = client.diagnostics(&|k| format!("{k:?}"));
    let skew = d["relay"]["lease"]["relay_clock_skew_seconds"]
        .as_i64()
        .unwrap();
    assert!((3590..=3610).contains(&skew), "{skew}");
    // The trusted-time mark is the file's signed issue time, never the relay's clock (an
    // hour ahead): a later validation on this machine's clock is not CLOCK_TAMPERED.
    let store = s.dir.path.join("machine-a");
    assert!(store.exists());
    let again = client.validate(0).unwrap();
    assert_eq!(
        (again.clock, again.valid),
        (lic::model::ClockState::Ok, true)
    );
    assert!(again.file_issued.unwrap() <= lic::time::now_ms());
}

#[test]
fn without_heartbeats_the_lease_never_ends_and_a_reclaim_uses_the_cached_file() {
    let s = Setup::new();
    let (relay, _) = s.relay(
        1,
        None,
        RelayOptions {
            no_heartbeats: true,
            ..RelayOptions::default()
        },
    );
    let a = s.client(&relay, "machine-a");
    let v = a.validate(0).unwrap();
    assert_eq!(v.source, Source::Relay);
    // The relay answers 409 to a second claim: the lease is ours for good.
    let again = a.validate(0).unwrap();
    assert_eq!((again.source, again.lease_expiry), (Source::Relay, None));
    // Another process on this machine (same cache): 409 too, answered from the cached file.
    let twin = s.client(&relay, "machine-a");
    let t = twin.validate(0).unwrap();
    assert_eq!((t.source, t.valid), (Source::Relay, true));
}

#[test]
fn a_lease_from_an_earlier_run_is_picked_up() {
    let s = Setup::new();
    let (relay, ids) = s.relay(2, None, RelayOptions::default());
    let a = s.client(&relay, "machine-a");
    let v = a.validate(0).unwrap();
    // The same machine in another process, with the cache: the relay extends (202) and the
    // cached file answers.
    let again = s.client(&relay, "machine-a");
    let w = again.validate(0).unwrap();
    assert_eq!(w.source, Source::Relay);
    assert_eq!(w.license.unwrap().id, v.license.as_ref().unwrap().id);
    // Without the cache: lic gives the lease back and claims again to get a file.
    let mut cfg = s.config(&relay, "machine-a");
    cfg.no_cache = true;
    let bare = Client::new(cfg).unwrap();
    assert_eq!(bare.validate(0).unwrap().source, Source::Relay);
    let held: Vec<_> = ids
        .iter()
        .filter(|id| holder(&relay, id).is_some())
        .collect();
    assert_eq!(held.len(), 1, "one machine, one lease");
}

#[test]
fn relay_settings_are_checked() {
    let s = Setup::new();
    let relay = RelayServer::start(RelayOptions::default()).unwrap();
    let mut cfg = s.config(&relay, "m");
    cfg.license_key = Some("KEY".into());
    assert_eq!(
        Client::new(cfg).err().unwrap().kind,
        ErrorKind::InvalidArgument
    );
    let mut cfg = s.config(&relay, "m");
    cfg.public_keys = KeySet::new();
    assert_eq!(
        Client::new(cfg).err().unwrap().kind,
        ErrorKind::ConfigIncomplete
    );
    // Plain http to a LAN host is fine for a relay (Relay has no TLS).
    let mut cfg = s.config(&relay, "m");
    cfg.relay_url = Some("http://10.1.2.3:6349".into());
    assert!(Client::new(cfg).is_ok());
    let mut cfg = s.config(&relay, "m");
    cfg.relay_url = Some("ftp://relay".into());
    assert_eq!(
        Client::new(cfg).err().unwrap().kind,
        ErrorKind::InvalidArgument
    );
    // Calls that need a license key say why there is none.
    let c = s.client(&relay, "m");
    let e = c.activate().unwrap_err();
    assert_eq!(e.kind, ErrorKind::ConfigIncomplete);
    assert!(e.message.contains("relay"), "{}", e.message);
}

#[test]
fn diagnostics_hold_neither_the_leased_key_nor_the_secret() {
    let s = Setup::new();
    let (relay, _) = s.relay(
        1,
        None,
        RelayOptions {
            signing_secret: Some("hunter2-secret".into()),
            ..RelayOptions::default()
        },
    );
    let mut cfg = s.config(&relay, "machine-a");
    cfg.relay_secret = Some("hunter2-secret".into());
    let c = Client::new(cfg).unwrap();
    let v = c.validate(0).unwrap();
    let key = v.license.unwrap().key.unwrap();
    let doc = c.diagnostics(&|k| format!("{k:?}")).to_string();
    assert!(!doc.contains(&key) && !doc.contains("hunter2-secret"));
    assert!(doc.contains("\"relay_secret_set\":true"));
    let d: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(d["heartbeat"]["lease"]["state"], "held");
}

// ---- child processes: release at exit, and two processes after one license ----

/// Runs in a child process (see below): a client through the C API, one validation, then
/// (LIC_RELAY_CHILD_HOLD ms later) a normal exit without freeing anything. Prints the
/// status, and the source on success.
#[test]
#[ignore = "a child process of the tests below (run with --ignored by them)"]
fn child_process() {
    let url = std::env::var("LIC_RELAY_CHILD_URL").expect("run as a child process");
    use lic::ffi::client::*;
    use lic::ffi::config::*;
    use lic::ffi::result::lic_result_source;
    use lic::ffi::status::lic_status;
    use std::ffi::CString;
    let c = |s: &str| CString::new(s).unwrap();
    let var = |k: &str| std::env::var(k).unwrap();
    unsafe {
        let mut cfg = std::ptr::null_mut();
        assert_eq!(lic_config_new(&mut cfg), lic_status::LIC_STATUS_OK);
        lic_config_set_account_id(cfg, c(&var("LIC_RELAY_CHILD_ACCOUNT")).as_ptr());
        lic_config_set_public_key(cfg, c(&var("LIC_RELAY_CHILD_KEY")).as_ptr());
        lic_config_set_relay_url(cfg, c(&url).as_ptr());
        lic_config_set_fingerprint(cfg, c(&var("LIC_RELAY_CHILD_MACHINE")).as_ptr());
        lic_config_set_cache_dir(cfg, c(&var("LIC_RELAY_CHILD_CACHE")).as_ptr());
        let mut client = std::ptr::null_mut();
        assert_eq!(lic_client_new(cfg, &mut client), lic_status::LIC_STATUS_OK);
        lic_config_free(cfg);
        let mut r = std::ptr::null_mut();
        let st = lic_validate(client, 0, &mut r);
        println!(
            "CHILD status={} source={}",
            st as i32,
            lic_result_source(r) as i32
        );
        let hold: u64 = var("LIC_RELAY_CHILD_HOLD").parse().unwrap();
        std::thread::sleep(Duration::from_millis(hold));
        // A normal exit: atexit handlers run, the client was never freed.
        std::process::exit(0);
    }
}

fn spawn_child(s: &Setup, relay: &RelayServer, machine: &str, hold_ms: u64) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("LIC_RELAY_CHILD_URL", relay.url())
        .env("LIC_RELAY_CHILD_ACCOUNT", s.keygen.account_id())
        .env("LIC_RELAY_CHILD_KEY", s.keygen.public_key_hex())
        .env("LIC_RELAY_CHILD_MACHINE", machine)
        .env("LIC_RELAY_CHILD_CACHE", s.dir.path.join(machine))
        .env("LIC_RELAY_CHILD_HOLD", hold_ms.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn child_result(child: std::process::Child) -> (i32, i32) {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "child failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.find("CHILD ").map(|i| &l[i..]))
        .unwrap_or_else(|| panic!("no result from the child: {text}"));
    let num = |k: &str| -> i32 {
        line.split(' ')
            .find_map(|p| p.strip_prefix(k))
            .unwrap()
            .parse()
            .unwrap()
    };
    (num("status="), num("source="))
}

#[test]
fn a_normal_exit_releases_the_lease() {
    let s = Setup::new();
    let (relay, ids) = s.relay(1, None, RelayOptions::default());
    let child = spawn_child(&s, &relay, "machine-exit", 0);
    let (status, source) = child_result(child);
    assert_eq!((status, source), (0, Source::Relay as i32));
    assert_eq!(holder(&relay, &ids[0]), None, "released by the atexit hook");
    // And so the next machine gets it.
    assert_eq!(
        s.client(&relay, "machine-next").validate(0).unwrap().source,
        Source::Relay
    );
}

#[test]
fn two_processes_compete_for_one_license_and_one_wins() {
    let s = Setup::new();
    let (relay, ids) = s.relay(1, None, RelayOptions::default());
    let a = spawn_child(&s, &relay, "machine-one", 1500);
    let b = spawn_child(&s, &relay, "machine-two", 1500);
    let mut results = [child_result(a), child_result(b)];
    results.sort();
    let no_license = lic::ffi::status::lic_status::LIC_STATUS_NO_LICENSE_AVAILABLE as i32;
    assert_eq!(
        results,
        [
            (0, Source::Relay as i32),
            (no_license, Source::Unknown as i32)
        ]
    );
    assert_eq!(
        holder(&relay, &ids[0]),
        None,
        "the winner released it at exit"
    );
}
