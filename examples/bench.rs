//! Every row of the performance table (README "Benchmarks", issue 16) with
//! its anchor, in one run:
//!
//!     cargo run --release --example bench
//!
//! Rows: a cold offline validation through the C ABI (new client,
//! `lic_client_load_file`, `lic_validate(OFFLINE_ONLY)`, free) on the real
//! Keygen vector `shared/vectors/machine-python.lic`, beside the floor (one
//! Ed25519 verification and one AES-256-GCM open of the same file) and the
//! floor plus a `serde_json::Value` parse of its dataset; a warm offline
//! validation of a client whose file was loaded by hand, with the failing
//! syscalls per call (strace); the first `lic_client_new` of a process with
//! an offline configuration (a child process per sample); `lic_validate`
//! online against lic-devserver beside a bare keep-alive ureq POST of the
//! same request (a default ureq 3 agent) and beside that POST plus the
//! response verification (Digest and one Ed25519 `verify_strict`), on 1
//! and 4 threads, with the
//! `setsockopt` and `write`/`sendto` calls per call (strace); the Python binding (bindings/python/bench_offline.py); the
//! stripped `liblic.so`; the devserver's validate-key throughput with 8
//! keep-alive clients.
//!
//! strace and python3 are optional: a row that needs a missing tool says so.
//! `LIC_BENCH_SECONDS` (default 2) is the length of each timed online run.
//! The child processes are this binary, started with `LIC_BENCH_CHILD`.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::null_mut;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use lic::crypto::{b64_std, b64_std_decode, sha256, KeySet, PublicKey, SigAlg};
use lic::ffi::client::{
    lic_client, lic_client_free, lic_client_new, lic_validate, LIC_VALIDATE_AUTO_ACTIVATE,
    LIC_VALIDATE_OFFLINE_ONLY,
};
use lic::ffi::config::*;
use lic::ffi::evidence::lic_client_load_file;
use lic::ffi::result::{lic_result_code, lic_result_free};
use lic::ffi::status::lic_status;
use lic::model::ValidationCode;
use lic_devserver::{DevServer, Options};
use serde_json::{json, Value};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VECTOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/vectors/machine-python.lic"
);
const PUBLIC_KEY: &str = "e8601e48b69383ba520245fd07971e983d06d22c4257cfd82304601479cee788";
const LICENSE_KEY: &str = "B10760-1B177D-656D1F-C03298-9AF89E-V3";
const FINGERPRINT: &str = "198e9fe586114844f6a4eaca5069b41a7ed43fb5a2df84892b69826d64573e39";
const N: usize = 2000;

struct Shared(*mut lic_client);
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn main() {
    if let Ok(mode) = std::env::var("LIC_BENCH_CHILD") {
        child(&mode);
        return;
    }
    let started = Instant::now();
    println!(
        "lic benchmarks (issue 16 table), release build, {} cores",
        cores()
    );
    println!("{:<58} {:>22}  anchor / goal", "row", "figure");
    offline_rows();
    first_client_row();
    online_rows();
    python_rows();
    size_rows();
    devserver_row();
    println!("(whole run: {:.0} s)", started.elapsed().as_secs_f64());
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn row(what: &str, figure: String, anchor: String) {
    println!("{what:<58} {figure:>22}  {anchor}");
}

fn s(v: &str) -> CString {
    CString::new(v).unwrap()
}

/// A configuration for the Keygen vector: offline use only (the URL is never asked).
unsafe fn vector_config(cache: &Path) -> *mut lic_config {
    unsafe {
        let mut cfg = null_mut();
        assert_eq!(lic_config_new(&mut cfg), lic_status::LIC_STATUS_OK);
        lic_config_set_account_id(cfg, s("bench-account").as_ptr());
        lic_config_set_public_key(cfg, s(PUBLIC_KEY).as_ptr());
        lic_config_set_license_key(cfg, s(LICENSE_KEY).as_ptr());
        lic_config_set_fingerprint(cfg, s(FINGERPRINT).as_ptr());
        lic_config_set_cache_dir(cfg, s(cache.to_str().unwrap()).as_ptr());
        cfg
    }
}

fn temp(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("lic-bench-{tag}-{}", std::process::id()))
}

/// One offline validation's answer code (the vector expired in 2022, so FILE_EXPIRED).
unsafe fn validate_offline(client: *mut lic_client) -> ValidationCode {
    unsafe {
        let mut r = null_mut();
        assert_eq!(
            lic_validate(client, LIC_VALIDATE_OFFLINE_ONLY, &mut r),
            lic_status::LIC_STATUS_OK
        );
        let code = lic_result_code(r);
        lic_result_free(r);
        code
    }
}

unsafe fn loaded_client(cfg: *mut lic_config, text: &[u8]) -> *mut lic_client {
    unsafe {
        let mut client = null_mut();
        assert_eq!(lic_client_new(cfg, &mut client), lic_status::LIC_STATUS_OK);
        assert_eq!(
            lic_client_load_file(client, text.as_ptr(), text.len()),
            lic_status::LIC_STATUS_OK
        );
        client
    }
}

fn offline_rows() {
    let text = std::fs::read(VECTOR).expect("shared/vectors/machine-python.lic");
    let keys = KeySet::of(PublicKey::from_hex(PUBLIC_KEY).unwrap());
    let cert =
        lic::evidence::files::parse_certificate(std::str::from_utf8(&text).unwrap()).unwrap();
    let signed = format!("machine/{}", cert.enc);
    let parts: Vec<Vec<u8>> = cert
        .enc
        .split('.')
        .map(|p| b64_std_decode(p).unwrap())
        .collect();
    let aes = Aes256Gcm::new(&sha256(format!("{LICENSE_KEY}{FINGERPRINT}").as_bytes()).into());
    let mut buf = Vec::with_capacity(parts[0].len());
    let open = |buf: &mut Vec<u8>| {
        buf.clear();
        buf.extend_from_slice(&parts[0]);
        aes.decrypt_in_place_detached(
            Nonce::from_slice(&parts[1]),
            &[],
            buf,
            Tag::from_slice(&parts[2]),
        )
        .unwrap();
    };
    let mut buf2 = buf.clone();
    let cache = temp("offline");
    let cfg = unsafe { vector_config(&cache) };
    // The floor, floor + JSON and the cold op are sampled in alternating
    // blocks, so a change of clock speed or of other load during the run
    // shifts all three alike and their ratios stay comparable.
    let mut samples = sample_interleaved(
        N,
        &mut [
            &mut || {
                assert_eq!(
                    keys.verify(SigAlg::Ed25519, signed.as_bytes(), &cert.sig),
                    Some(true)
                );
                open(&mut buf);
            },
            &mut || {
                assert_eq!(
                    keys.verify(SigAlg::Ed25519, signed.as_bytes(), &cert.sig),
                    Some(true)
                );
                open(&mut buf2);
                let doc: Value = serde_json::from_slice(&buf2).unwrap();
                assert!(doc.get("data").is_some());
            },
            &mut || unsafe {
                let client = loaded_client(cfg, &text);
                assert_eq!(validate_offline(client), ValidationCode::FileExpired);
                lic_client_free(client);
            },
        ],
    );
    let cold = samples.pop().unwrap();
    let floor_json = samples.pop().unwrap();
    let floor = samples.pop().unwrap();
    let client = unsafe { loaded_client(cfg, &text) };
    let warm = sample(N * 10, || unsafe {
        assert_eq!(validate_offline(client), ValidationCode::FileExpired);
    });
    unsafe {
        lic_client_free(client);
        lic_config_free(cfg);
    }
    let _ = std::fs::remove_dir_all(&cache);

    let (f, fj, c, w) = (p50(&floor), p50(&floor_json), p50(&cold), p50(&warm));
    println!(
        "-- offline, shared/vectors/machine-python.lic ({} bytes), p50 of {N} calls",
        text.len()
    );
    row(
        "floor: 1 Ed25519 verify_strict + 1 AES-256-GCM open",
        format!("{f:.1} us"),
        "anchor".into(),
    );
    row(
        "floor + serde_json::Value parse of the dataset",
        format!("{fj:.1} us"),
        format!("{:.2}x floor", fj / f),
    );
    row(
        "cold offline, C ABI (new, load_file, validate, free)",
        format!("{c:.1} us"),
        format!(
            "{:.2}x floor (goal <= 1.5), {:.2}x floor+JSON (goal <= 1.25)",
            c / f,
            c / fj
        ),
    );
    let fails = strace_failures();
    row(
        "warm offline, loaded file, C ABI (validate, free)",
        format!("{w:.2} us"),
        format!("goal <= 2 us; failing syscalls per call: {fails}"),
    );
}

/// Failing syscalls per warm validate of a loaded file: strace -c of a child
/// making 0 and 2000 calls, the difference per call.
fn strace_failures() -> String {
    let count = |n: usize| -> Option<u64> {
        let out = strace(&["-f", "-c"], &format!("warm:{n}"), &[])?;
        // The total line: "% time  seconds  usecs/call  calls  errors  total".
        let total = out
            .lines()
            .rev()
            .find(|l| l.trim_end().ends_with("total"))?;
        let cols: Vec<&str> = total.split_whitespace().collect();
        Some(if cols.len() >= 6 {
            cols[4].parse().ok()?
        } else {
            0
        })
    };
    match (count(0), count(2000)) {
        (Some(a), Some(b)) => format!("{:.2}", b.saturating_sub(a) as f64 / 2000.0),
        _ => "strace not available".into(),
    }
}

/// Runs this binary as a child under strace with `args`; strace's summary.
fn strace(args: &[&str], mode: &str, env: &[(&str, String)]) -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let summary = temp(&format!("strace-{}", mode.replace(':', "-")));
    let status = Command::new("strace")
        .args(args)
        .arg("-o")
        .arg(&summary)
        .arg(exe)
        .env("LIC_BENCH_CHILD", mode)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    let out = std::fs::read_to_string(&summary).ok();
    let _ = std::fs::remove_file(&summary);
    status.success().then_some(out?)
}

fn first_client_row() {
    let exe = std::env::current_exe().unwrap();
    let mut firsts = Vec::new();
    let mut laters = Vec::new();
    for _ in 0..7 {
        let out = Command::new(&exe)
            .env("LIC_BENCH_CHILD", "first")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut it = text.split_whitespace().map(|x| x.parse::<f64>().unwrap());
        firsts.push(it.next().unwrap());
        laters.push(it.next().unwrap());
    }
    firsts.sort_by(f64::total_cmp);
    laters.sort_by(f64::total_cmp);
    println!("-- client construction, offline configuration, 7 child processes");
    row(
        "first lic_client_new in a process",
        format!("{:.0}-{:.0} us", firsts[1], firsts[5]),
        format!(
            "goal <= 50 us; later ones {:.0}-{:.0} us (2nd..6th of 7 sorted)",
            laters[1], laters[5]
        ),
    );
}

fn child(mode: &str) {
    let (mode, n) = match mode.split_once(':') {
        Some((m, n)) => (m, n.parse::<usize>().unwrap()),
        None => (mode, 0),
    };
    match mode {
        "first" => {
            let cache = temp("first");
            unsafe {
                let cfg = vector_config(&cache);
                let t = Instant::now();
                let mut client = null_mut();
                assert_eq!(lic_client_new(cfg, &mut client), lic_status::LIC_STATUS_OK);
                let first = t.elapsed();
                let t = Instant::now();
                let mut second = null_mut();
                assert_eq!(lic_client_new(cfg, &mut second), lic_status::LIC_STATUS_OK);
                let later = t.elapsed();
                lic_client_free(client);
                lic_client_free(second);
                lic_config_free(cfg);
                println!("{} {}", us(first), us(later));
            }
            let _ = std::fs::remove_dir_all(cache);
        }
        "cold" => {
            // N cold offline validations (for callgrind: LIC_BENCH_CHILD=cold:200).
            let text = std::fs::read(VECTOR).unwrap();
            let cache = temp("cold");
            unsafe {
                let cfg = vector_config(&cache);
                for _ in 0..n {
                    let client = loaded_client(cfg, &text);
                    validate_offline(client);
                    lic_client_free(client);
                }
                lic_config_free(cfg);
            }
            let _ = std::fs::remove_dir_all(cache);
        }
        "warm" => {
            let text = std::fs::read(VECTOR).unwrap();
            let cache = temp("warm");
            unsafe {
                let cfg = vector_config(&cache);
                let client = loaded_client(cfg, &text);
                validate_offline(client);
                for _ in 0..n {
                    validate_offline(client);
                }
                lic_client_free(client);
                lic_config_free(cfg);
            }
            let _ = std::fs::remove_dir_all(cache);
        }
        "lic" | "bare" => {
            let env = |k: &str| std::env::var(k).unwrap();
            let cache = PathBuf::from(env("LIC_BENCH_CACHE"));
            let f: Box<dyn Fn()> = if mode == "lic" {
                let client = unsafe {
                    make_client(
                        &env("LIC_BENCH_URL"),
                        &env("LIC_BENCH_ACCOUNT"),
                        &env("LIC_BENCH_PK"),
                        &env("LIC_BENCH_KEY"),
                        &cache,
                    )
                };
                Box::new(move || unsafe { validate_online(client.0) })
            } else {
                Box::new(bare_post(
                    &env("LIC_BENCH_URL"),
                    &env("LIC_BENCH_KEY"),
                    None,
                ))
            };
            f();
            for _ in 0..n {
                f();
            }
        }
        _ => panic!("unknown LIC_BENCH_CHILD {mode}"),
    }
}

unsafe fn make_client(url: &str, account: &str, pk: &str, key: &str, cache: &Path) -> Shared {
    unsafe {
        let mut cfg = null_mut();
        assert_eq!(lic_config_new(&mut cfg), lic_status::LIC_STATUS_OK);
        lic_config_set_account_id(cfg, s(account).as_ptr());
        lic_config_set_api_url(cfg, s(url).as_ptr());
        lic_config_set_public_key(cfg, s(pk).as_ptr());
        lic_config_set_license_key(cfg, s(key).as_ptr());
        lic_config_set_fingerprint(cfg, s("bench-machine").as_ptr());
        lic_config_set_cache_dir(cfg, s(cache.to_str().unwrap()).as_ptr());
        let mut client = null_mut();
        assert_eq!(lic_client_new(cfg, &mut client), lic_status::LIC_STATUS_OK);
        lic_config_free(cfg);
        Shared(client)
    }
}

unsafe fn validate_online(client: *mut lic_client) {
    unsafe {
        let mut r = null_mut();
        assert_eq!(lic_validate(client, 0, &mut r), lic_status::LIC_STATUS_OK);
        assert_eq!(lic_result_code(r), ValidationCode::Valid);
        lic_result_free(r);
    }
}

/// A bare keep-alive POST of the request lic sends, with a default ureq 3
/// agent (lic's HTTP stack, with ureq's own TCP transport). With `pk`, the
/// POST also does the verification any client of a signed API must do: the
/// body's SHA-256 against `Digest`, and one Ed25519 `verify_strict` of the
/// `Keygen-Signature` over the signing string (portless host, as keygen-api
/// and lic-devserver sign): the floor of a verified call.
fn bare_post(base: &str, key: &str, pk: Option<&str>) -> impl Fn() + Clone + Send + 'static {
    let url = format!("{base}/v1/licenses/actions/validate-key");
    let host = base
        .split("://")
        .nth(1)
        .and_then(|h| h.split(':').next())
        .unwrap()
        .to_string();
    let keys = pk.map(|pk| Arc::new(KeySet::of(PublicKey::from_hex(pk).unwrap())));
    let agent = ureq::Agent::new_with_defaults();
    let key = key.to_string();
    move || {
        let body =
            json!({"meta": {"key": key, "nonce": 1, "scope": {"fingerprint": "bench-machine"}}})
                .to_string();
        let mut resp = agent
            .post(&url)
            .header("Content-Type", "application/vnd.api+json")
            .header("Keygen-Version", "1.7")
            .send(&body)
            .unwrap();
        let Some(keys) = &keys else {
            let text = resp.body_mut().read_to_string().unwrap();
            assert!(text.contains("\"VALID\""));
            return;
        };
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap()
                .to_string()
        };
        let (date, digest, sig) = (header("date"), header("digest"), header("keygen-signature"));
        let text = resp.body_mut().read_to_vec().unwrap();
        let expected = format!("sha-256={}", b64_std(&sha256(&text)));
        assert_eq!(digest, expected);
        let b64 = sig.split("signature=\"").nth(1).unwrap();
        let sig = b64_std_decode(b64.split('"').next().unwrap()).unwrap();
        let signed = format!(
            "(request-target): post /v1/licenses/actions/validate-key\nhost: {host}\ndate: {date}\ndigest: {digest}"
        );
        assert_eq!(
            keys.verify(SigAlg::Ed25519, signed.as_bytes(), &sig),
            Some(true)
        );
    }
}

fn online_rows() {
    let seconds: f64 = std::env::var("LIC_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let server = DevServer::start(Options {
        bootstrap: true,
        ..Options::default()
    })
    .unwrap();
    let demo = server.bootstrap().unwrap();
    let cache = temp("online");
    let (url, account, pk) = (
        server.base_url(),
        server.account_id(),
        server.public_key_hex(),
    );
    let client = unsafe { make_client(&url, &account, &pk, &demo.license_key, &cache) };
    unsafe {
        let mut r = null_mut();
        assert_eq!(
            lic_validate(client.0, LIC_VALIDATE_AUTO_ACTIVATE, &mut r),
            lic_status::LIC_STATUS_OK
        );
        assert_eq!(lic_result_code(r), ValidationCode::Valid);
        lic_result_free(r);
    }
    let client = Arc::new(client);
    let bare = bare_post(&url, &demo.license_key, None);
    let verified = bare_post(&url, &demo.license_key, Some(&pk));
    let lic_call = {
        let client = client.clone();
        move || unsafe { validate_online(client.0) }
    };
    println!("-- online, lic-devserver on loopback, {seconds} s per run, time per call");
    for threads in [1, 4] {
        // Four alternating slices of each, so drift hits all three alike.
        let (mut b, mut v, mut l) = (0.0, 0.0, 0.0);
        for _ in 0..4 {
            b += run(threads, seconds / 4.0, bare.clone()) / 4.0;
            v += run(threads, seconds / 4.0, verified.clone()) / 4.0;
            l += run(threads, seconds / 4.0, lic_call.clone()) / 4.0;
        }
        let per = |rate: f64| 1e6 * threads as f64 / rate;
        row(
            &format!("lic_validate with public key, {threads} thread(s)"),
            format!("{:.1} us", per(l)),
            format!(
                "bare ureq POST {:.1} us: {:.2}x (goal <= 1.3); bare POST + Digest + 1 verify_strict {:.1} us: {:.2}x",
                per(b),
                b / l,
                per(v),
                v / l
            ),
        );
    }
    drop(lic_call);
    let env = [
        ("LIC_BENCH_URL", url.clone()),
        ("LIC_BENCH_ACCOUNT", account),
        ("LIC_BENCH_PK", pk),
        ("LIC_BENCH_KEY", demo.license_key.clone()),
        ("LIC_BENCH_CACHE", cache.display().to_string()),
    ];
    // Calls of `trace` (an strace -e expression) per call: 200 calls less none.
    let per_call = |mode: &str, trace: &str| -> Option<f64> {
        let count = |n: usize| -> Option<u64> {
            let out = strace(
                &["-f", "-c", "-e", &format!("trace={trace}")],
                &format!("{mode}:{n}"),
                &env,
            )?;
            let total = out.lines().rev().find(|l| l.trim_end().ends_with("total"));
            // No line at all when nothing was traced.
            let Some(total) = total else { return Some(0) };
            total.split_whitespace().nth(3)?.parse().ok()
        };
        Some(count(200)?.saturating_sub(count(0)?) as f64 / 200.0)
    };
    let fmt = |v: Option<f64>| v.map_or("strace not available".to_string(), |v| format!("{v:.1}"));
    row(
        "setsockopt calls per online lic_validate (strace)",
        fmt(per_call("lic", "setsockopt")),
        format!(
            "goal <= 4; bare ureq POST: {}",
            fmt(per_call("bare", "setsockopt"))
        ),
    );
    let writes = "sendto,write,writev";
    row(
        "write/sendto calls per online lic_validate (strace)",
        fmt(per_call("lic", writes)),
        format!(
            "goal 1 (head and body in one write); bare ureq POST: {}",
            fmt(per_call("bare", writes))
        ),
    );
    if let Ok(client) = Arc::try_unwrap(client) {
        unsafe { lic_client_free(client.0) };
    }
    let _ = std::fs::remove_dir_all(cache);
}

fn run(threads: usize, seconds: f64, f: impl Fn() + Clone + Send + 'static) -> f64 {
    for _ in 0..20 {
        f();
    }
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let f = f.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    f();
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

/// bindings/python/bench_offline.py against the release library; its lines as rows.
fn python_rows() {
    println!("-- Python binding (bindings/python/bench_offline.py, release liblic.so)");
    let target = target_dir();
    let lib = target.join("release/liblic.so");
    let server = target.join("release/lic-devserver");
    if !lib.exists() || !server.exists() {
        row(
            "Python rows",
            "not built".into(),
            "cargo build --release -p lic -p lic-devserver".into(),
        );
        return;
    }
    let out = Command::new("python3")
        .arg(Path::new(ROOT).join("bindings/python/bench_offline.py"))
        .args(["--iterations", "2000", "--rounds", "3", "--rows"])
        .env("LIC_LIBRARY", &lib)
        .env("LIC_DEVSERVER", &server)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            for line in String::from_utf8_lossy(&o.stdout).lines() {
                if let Some(r) = line.strip_prefix("row\t") {
                    let mut it = r.splitn(3, '\t');
                    let (w, f, a) = (
                        it.next().unwrap_or(""),
                        it.next().unwrap_or(""),
                        it.next().unwrap_or(""),
                    );
                    row(w, f.into(), a.into());
                }
            }
        }
        Ok(o) => row(
            "Python rows",
            "failed".into(),
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .to_string(),
        ),
        Err(e) => row("Python rows", "no python3".into(), e.to_string()),
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("target"))
}

fn stripped_size(lib: &Path) -> Option<u64> {
    if !lib.exists() {
        return None;
    }
    let copy = temp("strip.so");
    let ok = Command::new("strip")
        .arg("-o")
        .arg(&copy)
        .arg(lib)
        .status()
        .ok()?
        .success();
    let size = std::fs::metadata(&copy).ok().map(|m| m.len());
    let _ = std::fs::remove_file(&copy);
    ok.then_some(size?)
}

fn size_rows() {
    println!("-- shared library size (a stripped copy)");
    let target = target_dir();
    let mb = |b: u64| format!("{:.2} MB", b as f64 / 1e6);
    row(
        "stripped liblic.so, target/release",
        stripped_size(&target.join("release/liblic.so")).map_or("not built".into(), mb),
        "goal <= 3 MB".into(),
    );
    let offline = [
        "release-offline/liblic.so",
        "offline-only/release/liblic.so",
        "offline/release/liblic.so",
    ]
    .iter()
    .map(|p| target.join(p))
    .find(|p| p.exists());
    row(
        "stripped liblic.so, offline-only build",
        offline
            .as_deref()
            .and_then(stripped_size)
            .map_or("not built".into(), mb),
        "goal <= 1.5 MB (see README for the build command)".into(),
    );
}

fn devserver_row() {
    let (done, seconds) = lic_devserver::raw::validate_throughput(8, Duration::from_secs(3));
    let n = done as f64 / seconds;
    println!("-- devserver (in process, loopback), 3 s");
    row(
        "devserver validate-key, 8 keep-alive clients",
        format!("{n:.0}/s"),
        "goal >= 10,000/s".into(),
    );
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn p50(s: &[Duration]) -> f64 {
    us(s[s.len() / 2])
}

/// `n` timed calls of each function, in alternating blocks of 50 after a
/// warm-up of each; every returned Vec is sorted.
fn sample_interleaved(n: usize, fs: &mut [&mut dyn FnMut()]) -> Vec<Vec<Duration>> {
    const BLOCK: usize = 50;
    for f in fs.iter_mut() {
        for _ in 0..n / 20 + 10 {
            f();
        }
    }
    let mut out: Vec<Vec<Duration>> = fs.iter().map(|_| Vec::with_capacity(n)).collect();
    while out[0].len() < n {
        for (f, v) in fs.iter_mut().zip(out.iter_mut()) {
            for _ in 0..BLOCK.min(n - v.len()) {
                let t = Instant::now();
                f();
                v.push(t.elapsed());
            }
        }
    }
    for v in &mut out {
        v.sort();
    }
    out
}

fn sample(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..n / 20 + 10 {
        f();
    }
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v
}
