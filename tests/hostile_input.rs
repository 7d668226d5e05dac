//! Bad input gets a clear status, never a hang, a wrap-around or a C string
//! that lies about its length: the regression tests of issue 12's D1 (a FIFO
//! or device where lic reads a file), D4 and D5 (settings out of range), D6
//! (NUL inside result strings), D7 (an unknown signed part) and D8 (temporary
//! files left by a killed writer).
// The FIFO and kill tests are unix-only; elsewhere their helpers are unused.
#![cfg_attr(not(unix), allow(unused_imports, dead_code))]

mod common;

use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::null_mut;
use std::sync::mpsc;
use std::time::Duration;

use common::{Env, TempDir};
use lic::client::{Client, VALIDATE_AUTO_ACTIVATE, VALIDATE_OFFLINE_ONLY, VALIDATE_ONLINE_ONLY};
use lic::error::ErrorKind;
use lic::ffi::client::*;
use lic::ffi::config::*;
use lic::ffi::result::*;
use lic::ffi::status::lic_status;
use lic::ffi::status::lic_status::*;
use lic::model::{Source, ValidationCode as Code};
use serde_json::{json, Value};

/// A call that may block forever on the old code: run on its own thread,
/// and if it has not returned within `limit`, `unblock` it (so the thread
/// can end) and fail.
fn returns_within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
    unblock: impl FnOnce(),
) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(_) => {
            unblock();
            panic!("{what} blocked for more than {limit:?}");
        }
    }
}

/// Makes a FIFO at `path`.
#[cfg(unix)]
fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

/// Opens the FIFO for writing and closes it, releasing a reader blocked on it.
#[cfg(unix)]
fn release_fifo(path: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    // A reader blocked in open() is released by any writer; one blocked in
    // read() needs a writer that closes: keep trying briefly.
    for _ in 0..20 {
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path);
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn cache_entry(env: &Env, fp: &str, prefix: &str) -> PathBuf {
    let dir = env.dir.path.join(fp);
    std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(prefix) && n.ends_with(".lic")
        })
        .unwrap_or_else(|| panic!("no {prefix}*.lic in {}", dir.display()))
}

fn activated(env: &Env, fp: &str) -> (String, Client) {
    let (_, key) = env.license(&env.node_locked());
    let c = env.client(&key, fp);
    assert_eq!(
        c.validate(VALIDATE_AUTO_ACTIVATE).unwrap().code,
        Code::Valid
    );
    (key, c)
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(lic::ffi::version::lic_last_error_message()) }
        .to_string_lossy()
        .into_owned()
}

/// A C-API client for `key` on `fp`, as a C program builds it.
unsafe fn c_client(env: &Env, key: &str, fp: &str, public_key: bool) -> *mut lic_client {
    let mut cfg = null_mut();
    assert_eq!(lic_config_new(&mut cfg), LIC_STATUS_OK);
    let set = |f: unsafe extern "C" fn(*mut lic_config, *const c_char) -> lic_status, v: &str| {
        let v = CString::new(v).unwrap();
        assert_eq!(f(cfg, v.as_ptr()), LIC_STATUS_OK);
    };
    set(lic_config_set_account_id, &env.server.account_id());
    set(lic_config_set_api_url, &env.server.base_url());
    set(lic_config_set_license_key, key);
    if public_key {
        set(lic_config_set_public_key, &env.server.public_key_hex());
    }
    set(lic_config_set_fingerprint, fp);
    set(
        lic_config_set_cache_dir,
        env.dir.path.join(fp).to_str().unwrap(),
    );
    let mut client = null_mut();
    assert_eq!(lic_client_new(cfg, &mut client), LIC_STATUS_OK);
    lic_config_free(cfg);
    client
}

// ---------------------------------------------------------------- D1

/// D1: `lic_client_load_file_path` on a FIFO never returned (a blocking
/// open, no check for a regular file); on a device it read a megabyte.
#[cfg(unix)]
#[test]
fn load_file_path_refuses_what_is_not_a_regular_file_at_once() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let client = unsafe { c_client(&env, &key, "fp-d1-load", true) } as usize;
    let scratch = TempDir::new();
    let fifo = scratch.path.join("delivered.lic");
    mkfifo(&fifo);
    for (path, kind) in [
        (fifo.clone(), "FIFO"),
        (scratch.path.clone(), "directory"),
        (PathBuf::from("/dev/zero"), "device"),
    ] {
        let p = CString::new(path.to_str().unwrap()).unwrap();
        let (st, msg) = returns_within(
            Duration::from_secs(10),
            &format!("lic_client_load_file_path on a {kind}"),
            move || unsafe {
                let st = lic::ffi::evidence::lic_client_load_file_path(
                    client as *const lic_client,
                    p.as_ptr(),
                );
                (st, last_error())
            },
            || release_fifo(&fifo),
        );
        assert_eq!(st, LIC_STATUS_IO_ERROR, "{kind}: {msg}");
        assert!(
            msg.contains(kind) && msg.contains("regular file"),
            "{kind}: {msg}"
        );
    }
    unsafe { lic_client_free(client as *const lic_client) };
}

/// D1: a FIFO in place of the cached machine file blocked every
/// lic_validate, even ONLINE_ONLY against a healthy server (the check for a
/// fresh file read it). Now it is ignored, and the next check-out puts a
/// real file in its place.
#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_the_cached_machine_file_blocks_nothing() {
    let env = Env::new();
    let (key, first) = activated(&env, "fp-d1-cache");
    drop(first);
    let cached = cache_entry(&env, "fp-d1-cache", "machine-");
    mkfifo(&cached);

    // A new process: nothing in memory, so the file is read again.
    let c = env.client(&key, "fp-d1-cache");
    let c2 = c.clone();
    let v = returns_within(
        Duration::from_secs(10),
        "lic_validate(ONLINE_ONLY) with a FIFO as the cached machine file",
        move || c2.validate(VALIDATE_ONLINE_ONLY),
        || release_fifo(&cached),
    )
    .unwrap();
    assert_eq!((v.code, v.source), (Code::Valid, Source::Online));
    assert!(
        std::fs::metadata(&cached).unwrap().is_file(),
        "the validation checked a new machine file out over the FIFO"
    );

    // And with the FIFO back, an offline-only answer says there is no file.
    mkfifo(&cached);
    let c3 = env.client(&key, "fp-d1-cache");
    let e = returns_within(
        Duration::from_secs(10),
        "lic_validate(OFFLINE_ONLY) with a FIFO as the cached machine file",
        move || c3.validate(VALIDATE_OFFLINE_ONLY),
        || release_fifo(&cached),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoOfflineData, "{}", e.message);
}

/// D1: a FIFO in place of the clock mark blocked every lic_validate.
#[cfg(unix)]
#[test]
fn a_fifo_in_place_of_the_clock_mark_blocks_nothing() {
    let env = Env::new();
    let (key, first) = activated(&env, "fp-d1-mark");
    drop(first);
    let mark = cache_entry(&env, "fp-d1-mark", "clock-");
    mkfifo(&mark);
    let c = env.client(&key, "fp-d1-mark");
    let v = returns_within(
        Duration::from_secs(10),
        "lic_validate with a FIFO as the clock mark",
        move || c.validate(0),
        || release_fifo(&mark),
    )
    .unwrap();
    assert_eq!(v.code, Code::Valid);
}

/// D1: a FIFO as the CA bundle blocked lic_client_new.
#[cfg(unix)]
#[test]
fn a_fifo_as_the_ca_bundle_is_refused_at_once() {
    let scratch = TempDir::new();
    let fifo = scratch.path.join("ca.pem");
    mkfifo(&fifo);
    let cfg = lic::config::Config {
        account_id: Some("acct".into()),
        base_url: "https://licensing.example.com".into(),
        ca_bundle: Some(fifo.clone()),
        ..lic::config::Config::default()
    };
    let e = returns_within(
        Duration::from_secs(10),
        "Client::new with a FIFO as the CA bundle",
        move || Client::new(cfg).err(),
        || release_fifo(&fifo),
    )
    .expect("refused");
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e.message.contains("FIFO"), "{}", e.message);
}

// ---------------------------------------------------------------- D4, D5

/// The range every span setting accepts: 1 s to 100 years.
const MAX_SECONDS: i64 = 3_155_695_200;

type SecondsSetter = unsafe extern "C" fn(*mut lic_config, i64) -> lic_status;

fn assert_range_refusals(name: &str, set: SecondsSetter, min: i64) {
    unsafe {
        let mut cfg = null_mut();
        assert_eq!(lic_config_new(&mut cfg), LIC_STATUS_OK);
        for bad in [
            9_300_000_000_000_000,
            i64::MAX,
            MAX_SECONDS + 1,
            -1,
            i64::MIN,
        ] {
            assert_eq!(set(cfg, bad), LIC_STATUS_INVALID_ARGUMENT, "{name} = {bad}");
            let msg = last_error();
            assert!(
                msg.contains(&min.to_string()) && msg.contains(&MAX_SECONDS.to_string()),
                "{name} = {bad}: the message gives the range: {msg}"
            );
        }
        assert_eq!(
            set(cfg, MAX_SECONDS),
            LIC_STATUS_OK,
            "{name} at its maximum"
        );
        assert_eq!(set(cfg, min), LIC_STATUS_OK, "{name} at its minimum");
        lic_config_free(cfg);
    }
}

/// D4: from about 9.2e15 s the span settings wrapped around (every answer
/// CLOCK_TAMPERED, every online answer RESPONSE_MISMATCH, the cached file
/// FILE_EXPIRED). Now each out-of-range value is INVALID_ARGUMENT with the
/// range in the message.
#[test]
fn out_of_range_spans_are_refused_with_their_range() {
    assert_range_refusals(
        "max_response_age",
        lic_config_set_max_response_age_seconds,
        1,
    );
    assert_range_refusals("clock_tolerance", lic_config_set_clock_tolerance_seconds, 1);
    assert_range_refusals("max_offline_age", lic_config_set_max_offline_age_seconds, 1);
    // (The offline grace, added since, is a span like the others.)
    assert_range_refusals("offline_grace", lic_config_set_offline_grace_seconds, 1);
    unsafe {
        let mut cfg = null_mut();
        assert_eq!(lic_config_new(&mut cfg), LIC_STATUS_OK);
        assert_eq!(
            lic_config_set_max_offline_age_seconds(cfg, 0),
            LIC_STATUS_OK,
            "0: no limit"
        );
        lic_config_free(cfg);
    }
}

/// D5: a check-out TTL of INT64_MAX was accepted, and no machine file could
/// ever be read back (its expiry had a 9-digit year). Now Keygen's minimum
/// and lic's maximum are enforced, with the range in the message.
#[test]
fn an_unusable_checkout_ttl_is_refused_with_its_range() {
    assert_range_refusals("checkout TTL", lic_config_set_checkout_ttl_seconds, 3600);
    unsafe {
        let mut cfg = null_mut();
        assert_eq!(lic_config_new(&mut cfg), LIC_STATUS_OK);
        assert_eq!(
            lic_config_set_checkout_ttl_seconds(cfg, 3599),
            LIC_STATUS_INVALID_ARGUMENT
        );
        assert_eq!(
            lic_config_set_checkout_ttl_seconds(cfg, 0),
            LIC_STATUS_OK,
            "0: no expiry"
        );
        lic_config_free(cfg);
    }
}

/// D4, D5 for Rust callers: `Client::new` checks the same ranges.
#[test]
fn out_of_range_settings_are_refused_by_the_core_too() {
    let huge = Duration::from_secs(9_300_000_000_000_000);
    let base = lic::config::Config {
        account_id: Some("acct".into()),
        license_key: Some("KEY".into()),
        fingerprint: Some("fp".into()),
        ..lic::config::Config::default()
    };
    let cases = [
        lic::config::Config {
            clock_tolerance: huge,
            ..base.clone()
        },
        lic::config::Config {
            max_response_age: huge,
            ..base.clone()
        },
        lic::config::Config {
            max_offline_age: Some(huge),
            ..base.clone()
        },
        lic::config::Config {
            checkout_ttl: Some(i64::MAX),
            ..base.clone()
        },
        lic::config::Config {
            checkout_ttl: Some(60),
            ..base.clone()
        },
    ];
    for cfg in cases {
        let e = Client::new(cfg).err().expect("refused");
        assert_eq!(e.kind, ErrorKind::InvalidArgument, "{}", e.message);
        assert!(e.message.contains("3155695200"), "{}", e.message);
    }
    assert!(Client::new(base).is_ok());
}

/// The largest accepted values work end to end: no wrap-around online, a
/// 100-year check-out is cached and read back, offline answers are VALID.
#[test]
fn the_largest_accepted_settings_still_validate_online_and_offline() {
    let env = Env::new();
    let (_, key) = env.license(&env.node_locked());
    let max = Duration::from_secs(MAX_SECONDS as u64);
    let cfg = lic::config::Config {
        max_response_age: max,
        clock_tolerance: max,
        max_offline_age: Some(max),
        checkout_ttl: Some(MAX_SECONDS),
        ..env.config(&key, "fp-d4-max")
    };
    let c = Client::new(cfg).unwrap();
    let v = c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    assert_eq!((v.code, v.source), (Code::Valid, Source::Online));
    env.admin.set_fault(json!({ "mode": "offline" }));
    let v = c.validate(0).unwrap();
    assert_eq!(
        (v.code, v.source),
        (Code::Valid, Source::CachedFile),
        "{:?}",
        v.offline_reason
    );
    let expiry = v.file_expiry.expect("the 100-year file has an expiry");
    assert!(
        expiry > lic::time::now_ms() + 99 * 365 * 86_400_000,
        "{expiry}"
    );
    env.admin.clear_faults();
}

// ---------------------------------------------------------------- D6

/// Reads a string output into a buffer prefilled with 0x55, with `*out_len`
/// prefilled too, so that what was written can be seen.
unsafe fn read_str(
    f: impl Fn(*mut c_char, usize, *mut usize) -> lic_status,
) -> (lic_status, usize, Vec<u8>) {
    let mut buf = vec![0x55 as c_char; 256];
    let mut n = usize::MAX;
    let st = f(buf.as_mut_ptr(), buf.len(), &mut n);
    (st, n, buf.iter().map(|&b| b as u8).collect())
}

fn admin_post(env: &Env, path: &str, body: Value) -> Value {
    let (status, v) = env.admin.request("POST", path, Some(&body)).unwrap();
    assert!((200..300).contains(&status), "{path}: {status} {v}");
    v
}

/// D6: signed data with U+0000 came back from the string accessors as OK
/// with `out_len` larger than `strlen`, so C read a truncated string. Now
/// every string output refuses it with EMBEDDED_NUL and writes nothing.
#[test]
fn strings_with_an_embedded_nul_are_refused_by_every_accessor() {
    let env = Env::new();
    let policy = env.policy(json!({ "strict": true, "floating": true, "maxMachines": 5 }));
    let (license_id, key) = env.admin.create_license(
        &policy,
        json!({ "name": "Pro\u{0}Trial", "metadata": { "note": "a\u{0}b" } }),
    );
    let ent = admin_post(
        &env,
        "/v1/entitlements",
        json!({ "data": { "type": "entitlements",
                "attributes": { "name": "nul", "code": "PRO\u{0}X" } } }),
    );
    let ent_id = ent["data"]["id"].as_str().unwrap().to_string();
    admin_post(
        &env,
        &format!("/v1/licenses/{license_id}/entitlements"),
        json!({ "data": [{ "type": "entitlements", "id": ent_id }] }),
    );
    unsafe {
        let client = c_client(&env, &key, "fp-d6", true);
        let mut r = null_mut();
        assert_eq!(
            lic_validate(client, LIC_VALIDATE_AUTO_ACTIVATE, &mut r),
            LIC_STATUS_OK
        );
        assert_eq!(lic_result_code(r), Code::Valid);

        let (st, n, buf) = read_str(|b, l, o| lic_result_license_name(r, b, l, o));
        assert_eq!(st, LIC_STATUS_EMBEDDED_NUL, "{}", last_error());
        assert!(last_error().contains("NUL"), "{}", last_error());
        assert_eq!(n, usize::MAX, "out_len is not written");
        assert!(buf.iter().all(|&b| b == 0x55), "the buffer is not written");
        // Asking for the length says the same.
        let mut n = 0;
        assert_eq!(
            lic_result_license_name(r, null_mut(), 0, &mut n),
            LIC_STATUS_EMBEDDED_NUL
        );

        assert_eq!(lic_result_entitlement_count(r), 1);
        let (st, n, _) = read_str(|b, l, o| lic_result_entitlement(r, 0, b, l, o));
        assert_eq!((st, n), (LIC_STATUS_EMBEDDED_NUL, usize::MAX));
        let mut has = -1;
        assert_eq!(
            lic_result_has_entitlement(r, c"PRO".as_ptr(), &mut has),
            LIC_STATUS_OK
        );
        assert_eq!(has, 0, "a truncated code is not the entitlement");

        // Clean strings of the same result still come out whole; metadata
        // is JSON, where the NUL is escaped.
        let (st, n, buf) = read_str(|b, l, o| lic_result_license_id(r, b, l, o));
        assert_eq!(st, LIC_STATUS_OK);
        assert_eq!(&buf[..n], license_id.as_bytes());
        let (st, n, buf) = read_str(|b, l, o| lic_result_metadata_json(r, b, l, o));
        assert_eq!(st, LIC_STATUS_OK);
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(text.contains("a\\u0000b"), "{text}");
        assert_eq!(libc::strlen(buf.as_ptr().cast()), n);

        // Machine strings: a machine renamed with a NUL.
        let mut m = null_mut();
        assert_eq!(lic_activate(client, &mut m), LIC_STATUS_OK);
        let (_, n, buf) = read_str(|b, l, o| lic_machine_id(m, b, l, o));
        let machine_id = String::from_utf8(buf[..n].to_vec()).unwrap();
        lic_machine_free(m);
        let (status, _) = env
            .admin
            .request(
                "PATCH",
                &format!("/v1/machines/{machine_id}"),
                Some(&json!({ "data": { "type": "machines",
                                        "attributes": { "name": "rig\u{0}1" } } })),
            )
            .unwrap();
        assert_eq!(status, 200);
        let mut list = null_mut();
        assert_eq!(lic_client_machines(client, &mut list), LIC_STATUS_OK);
        let mut m = null_mut();
        assert_eq!(lic_machine_list_get(list, 0, &mut m), LIC_STATUS_OK);
        let (st, n, _) = read_str(|b, l, o| lic_machine_name(m, b, l, o));
        assert_eq!((st, n), (LIC_STATUS_EMBEDDED_NUL, usize::MAX));
        let (st, _, _) = read_str(|b, l, o| lic_machine_fingerprint(m, b, l, o));
        assert_eq!(st, LIC_STATUS_OK);
        lic_machine_free(m);
        lic_machine_list_free(list);
        lic_result_free(r);
        lic_client_free(client);
    }
}

// ---------------------------------------------------------------- D7

fn signed_part(r: *const lic_result, part: i32) -> lic_status {
    let mut n = 0;
    let mut buf = [0u8; 16];
    unsafe { lic_result_signed_part(r, part, buf.as_mut_ptr(), buf.len(), &mut n) }
}

/// D7: an unknown part gave NOT_FOUND on offline and signed-key results
/// (they have no response parts, and that was checked first). Now it is
/// INVALID_ARGUMENT on every kind of result.
#[test]
fn an_unknown_signed_part_is_invalid_on_every_kind_of_result() {
    let env = Env::new();
    let policy = env.policy(json!({ "strict": true, "floating": false, "maxMachines": 1,
                                    "scheme": "ED25519_SIGN" }));
    let (_, key) = env.license(&policy);
    assert!(key.starts_with("key/"), "a signed key: {key}");
    unsafe {
        let verified = c_client(&env, &key, "fp-d7", true);
        let unverified = c_client(&env, &key, "fp-d7", false);
        let mut results: Vec<(&str, *mut lic_result)> = Vec::new();
        let mut r = null_mut();
        assert_eq!(
            lic_validate(verified, LIC_VALIDATE_AUTO_ACTIVATE, &mut r),
            LIC_STATUS_OK
        );
        assert_eq!(lic_result_source(r), Source::Online);
        results.push(("online", r));
        let mut r = null_mut();
        assert_eq!(
            lic_validate(verified, LIC_VALIDATE_OFFLINE_ONLY, &mut r),
            LIC_STATUS_OK
        );
        assert_eq!(lic_result_source(r), Source::CachedFile);
        results.push(("offline", r));
        let mut r = null_mut();
        assert_eq!(
            lic::ffi::evidence::lic_client_check_signed_key(verified, &mut r),
            LIC_STATUS_OK
        );
        assert_eq!(lic_result_source(r), Source::SignedKey);
        results.push(("signed key", r));
        let mut r = null_mut();
        assert_eq!(lic_validate(unverified, 0, &mut r), LIC_STATUS_OK);
        assert_eq!(lic_result_verified(r), 0);
        results.push(("unverified", r));

        for (kind, r) in &results {
            for part in [0, 8, 9, -1, 99, i32::MIN, i32::MAX] {
                assert_eq!(
                    signed_part(*r, part),
                    LIC_STATUS_INVALID_ARGUMENT,
                    "{kind}: part {part}: {}",
                    last_error()
                );
            }
            // Known parts: present, or NOT_FOUND when this kind has none.
            for part in 1..=7 {
                let st = signed_part(*r, part);
                assert!(
                    matches!(
                        st,
                        LIC_STATUS_OK | LIC_STATUS_BUFFER_TOO_SMALL | LIC_STATUS_NOT_FOUND
                    ),
                    "{kind}: part {part}: {st:?}"
                );
            }
        }
        assert_eq!(
            signed_part(results[1].1, 7),
            LIC_STATUS_BUFFER_TOO_SMALL,
            "certificate"
        );
        assert_eq!(
            signed_part(results[1].1, 1),
            LIC_STATUS_NOT_FOUND,
            "offline has no body"
        );
        for (_, r) in results {
            lic_result_free(r);
        }
        lic_client_free(verified);
        lic_client_free(unverified);
    }
}

// ---------------------------------------------------------------- D8

/// Writes a 1 MiB cache entry in a loop until killed (run as a child).
#[test]
#[ignore = "helper: run as a child process and killed by stale_temporary_files_are_removed_by_the_next_write"]
fn cache_writer_child() {
    let path = PathBuf::from(std::env::var("LIC_CHILD_CACHE_FILE").unwrap());
    let data = vec![7u8; 1 << 20];
    println!("WRITING");
    loop {
        lic::evidence::cache::write_atomic(&path, &data).unwrap();
    }
}

fn temps_in(dir: &Path, target: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{target}.")) && n.ends_with(".tmp"))
        .collect();
    v.sort();
    v
}

/// D8: a kill during the atomic cache write left
/// `.machine-<hash>.lic.<pid>.<nonce>.tmp` behind, and nothing removed it.
/// Now the next write of that entry removes those whose writer is gone (or
/// that are over a minute old), and leaves a live writer's alone.
#[cfg(unix)]
#[test]
fn stale_temporary_files_are_removed_by_the_next_write() {
    use std::io::BufRead;
    let env = Env::new();
    let (key, first) = activated(&env, "fp-d8");
    drop(first);
    let cached = cache_entry(&env, "fp-d8", "machine-");
    let target = cached.file_name().unwrap().to_string_lossy().into_owned();
    let dir = cached.parent().unwrap().to_path_buf();

    // Real kills in the middle of writes.
    let exe = std::env::current_exe().unwrap();
    let scratch = TempDir::new();
    let victim = scratch.path.join(&target);
    let mut left = std::collections::BTreeSet::new();
    for i in 0..12u64 {
        let mut child = std::process::Command::new(&exe)
            .args(["cache_writer_child", "--exact", "--ignored", "--nocapture"])
            .env("LIC_CHILD_CACHE_FILE", &victim)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        while !line.contains("WRITING") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "the writer started");
        }
        std::thread::sleep(Duration::from_millis(20 + 7 * i));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // (The next writer removes this one's leftover on its first write.)
        left.extend(temps_in(&scratch.path, &target));
    }
    // And one left by a killed writer in the real cache, one of a writer
    // that is still running (this process), and files of other names.
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    dead.wait().unwrap();
    let killed = format!(".{target}.{dead_pid}.0123456789abcdef.tmp");
    let live = format!(".{target}.{}.fedcba9876543210.tmp", std::process::id());
    let other = format!(".{target}.{dead_pid}.tmp");
    for n in [&killed, &live, &other] {
        std::fs::write(dir.join(n), b"partial").unwrap();
    }

    // The next writes: a fresh check-out into the cache (the cached file is
    // gone, so a new client checks one out), and one into the scratch dir.
    std::fs::remove_file(&cached).unwrap();
    let c = env.client(&key, "fp-d8");
    assert_eq!(c.validate(0).unwrap().code, Code::Valid);
    assert!(cached.is_file(), "a new machine file was checked out");
    // Only the live writer's file stays, and the name that is not lic's own.
    let mut stays = vec![live.clone(), other.clone()];
    stays.sort();
    assert_eq!(temps_in(&dir, &target), stays);

    lic::evidence::cache::write_atomic(&victim, b"after").unwrap();
    // (Most runs leave a few; the synthetic one above is there in every run.)
    println!("D8: 12 kills left {} temporary files", left.len());
    assert_eq!(
        temps_in(&scratch.path, &target),
        Vec::<String>::new(),
        "left by kills: {left:?}"
    );
}
