//! Offline validation from the cached machine file, beside the floor measured
//! in the same run: one Ed25519 verification plus one AES-256-GCM decryption
//! of the same file. Then the cost of each signature algorithm Keygen uses
//! (Ed25519, RSA-2048 PSS and PKCS#1 v1.5, ECDSA P-256), with the machine
//! files of `tests/data/signing/vectors.json`: one signature verification,
//! and one offline validation of a new client that loads, verifies and
//! decrypts the file.
//!
//!     cargo run --release --example bench_offline
//!
//! "warm" is a client that has already read its cache (the normal case in a
//! running app: the verified file is kept in memory); "cold" is a new client
//! per call, which reads, verifies and decrypts the file from disk like a
//! process that starts while the network is down.

use std::time::{Duration, Instant};

use lic::client::{Client, VALIDATE_AUTO_ACTIVATE, VALIDATE_OFFLINE_ONLY};
use lic::config::Config;
use lic::crypto::{aes256gcm_open, b64_std_decode, sha256, KeyKind, KeySet, PublicKey, SigAlg};
use lic::model::{Source, ValidationCode};
use lic_devserver::{DevServer, Options};

const N: usize = 2000;

fn main() {
    let server = DevServer::start(Options {
        bootstrap: true,
        ..Options::default()
    })
    .unwrap();
    let demo = server.bootstrap().unwrap();
    let dir = std::env::temp_dir().join(format!("lic-bench-offline-{}", std::process::id()));
    let cfg = Config {
        account_id: Some(server.account_id()),
        base_url: server.base_url(),
        license_key: Some(demo.license_key.clone()),
        public_keys: KeySet::of(PublicKey::from_hex(&server.public_key_hex()).unwrap()),
        fingerprint: Some("bench-offline".into()),
        cache_dir: Some(dir.clone()),
        ..Config::default()
    };
    let client = Client::new(cfg.clone()).unwrap();
    client.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    let v = client.validate(VALIDATE_OFFLINE_ONLY).unwrap();
    assert_eq!(
        (v.code, v.source),
        (ValidationCode::Valid, Source::CachedFile)
    );
    let certificate = v.certificate.clone().unwrap();

    // The floor: the two cryptographic operations no verifier can skip.
    let key = cfg.public_keys.clone();
    let cert = lic::evidence::files::parse_certificate(&certificate).unwrap();
    let aes_key = sha256(format!("{}{}", demo.license_key, "bench-offline").as_bytes());
    let parts: Vec<Vec<u8>> = cert
        .enc
        .split('.')
        .map(|p| b64_std_decode(p).unwrap())
        .collect();
    let signed = format!("machine/{}", cert.enc);
    let floor = sample(|| {
        assert_eq!(
            key.verify(SigAlg::Ed25519, signed.as_bytes(), &cert.sig),
            Some(true)
        );
        aes256gcm_open(&aes_key, &parts[1], &parts[0], &parts[2]).unwrap();
    });
    let warm = sample(|| {
        let v = client.validate(VALIDATE_OFFLINE_ONLY).unwrap();
        assert_eq!(v.code, ValidationCode::Valid);
    });
    let cold = sample(|| {
        let c = Client::new(cfg.clone()).unwrap();
        let v = c.validate(VALIDATE_OFFLINE_ONLY).unwrap();
        assert_eq!(v.code, ValidationCode::Valid);
    });

    println!(
        "offline validation from the cached machine file ({} bytes), {N} calls each",
        certificate.len()
    );
    println!(
        "{:<44} {:>9} {:>9} {:>9}",
        "", "p50 us", "p99 us", "x floor"
    );
    let row = |name: &str, s: &[Duration]| {
        println!(
            "{:<44} {:>9.1} {:>9.1} {:>9.2}",
            name,
            us(s[s.len() / 2]),
            us(s[s.len() * 99 / 100]),
            us(s[s.len() / 2]) / us(floor[floor.len() / 2])
        );
    };
    row("floor: 1 Ed25519 verify + 1 AES-256-GCM open", &floor);
    row("lic validate, warm (file verified in memory)", &warm);
    row("lic validate, cold (new client: read+verify)", &cold);
    let _ = std::fs::remove_dir_all(dir);
    per_algorithm();
}

/// Each algorithm's verification, and a cold offline validation with it.
fn per_algorithm() {
    let set: serde_json::Value =
        serde_json::from_str(include_str!("../tests/data/signing/vectors.json")).unwrap();
    let account = &set["account"];
    println!();
    println!(
        "per signature algorithm (aes-256-gcm machine files, tests/data/signing), {N} calls each"
    );
    println!(
        "{:<18} {:>14} {:>14} {:>22} {:>22}",
        "algorithm",
        "verify p50 us",
        "verify p99 us",
        "cold validate p50 us",
        "cold validate p99 us"
    );
    for alg in SigAlg::ALL {
        let name = format!("aes-256-gcm+{}", alg.name());
        let file = set["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == "machine" && f["algorithm"] == name.as_str())
            .unwrap();
        let kind = match alg.key_kind() {
            KeyKind::Ed25519 => "ed25519",
            KeyKind::Rsa => "rsa",
            KeyKind::EcdsaP256 => "ecdsa",
        };
        let keys = KeySet::of(PublicKey::parse(account[kind].as_str().unwrap()).unwrap());
        let text = file["certificate"].as_str().unwrap();
        let cert = lic::evidence::files::parse_certificate(text).unwrap();
        let signed = format!("machine/{}", cert.enc);
        let verify = sample(|| {
            assert_eq!(keys.verify(alg, signed.as_bytes(), &cert.sig), Some(true));
        });
        let dir = std::env::temp_dir().join(format!("lic-bench-alg-{}", std::process::id()));
        let cfg = Config {
            account_id: Some(account["id"].as_str().unwrap().to_string()),
            base_url: "http://127.0.0.1:9".into(),
            license_key: Some(file["license_key"].as_str().unwrap().to_string()),
            public_keys: keys.clone(),
            fingerprint: Some(file["fingerprint"].as_str().unwrap().to_string()),
            cache_dir: Some(dir.clone()),
            ..Config::default()
        };
        let cold = sample(|| {
            let c = Client::new(cfg.clone()).unwrap();
            c.load_file(text).unwrap();
            let v = c.validate(VALIDATE_OFFLINE_ONLY).unwrap();
            assert_eq!(v.code, ValidationCode::Valid);
        });
        println!(
            "{:<18} {:>14.1} {:>14.1} {:>22.1} {:>22.1}",
            alg.name(),
            us(verify[verify.len() / 2]),
            us(verify[verify.len() * 99 / 100]),
            us(cold[cold.len() / 2]),
            us(cold[cold.len() * 99 / 100]),
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn sample(mut f: impl FnMut()) -> Vec<Duration> {
    for _ in 0..50 {
        f();
    }
    let mut v: Vec<Duration> = (0..N)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v
}
