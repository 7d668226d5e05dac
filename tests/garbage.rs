//! A server that lies in every way at once: lic against a listener that
//! answers each request with random bytes, truncated HTTP, or well-formed
//! HTTP around garbage bodies. Every call must end in a status within the
//! deadline: no panic, no hang. (Bounded: a fixed number of rounds on
//! loopback.)

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lic::client::{Client, VALIDATE_AUTO_ACTIVATE, VALIDATE_ONLINE_ONLY};
use lic::config::Config;
use lic::crypto::{random_bytes, KeySet, PublicKey};
use lic::error::ErrorKind;

const ROUNDS: usize = 40;

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    random_bytes(&mut b).unwrap();
    u32::from_le_bytes(b)
}

fn garbage(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    random_bytes(&mut v).unwrap();
    v
}

/// One lying answer.
fn lie() -> Vec<u8> {
    let body_kinds: [&[u8]; 6] = [
        b"",
        b"{",
        b"null",
        b"{\"meta\":{\"code\":\"VALID\",\"valid\":true,\"nonce\":\"x\"}}",
        b"{\"data\":{\"id\":7,\"attributes\":[]},\"meta\":{\"code\":12,\"valid\":\"yes\"}}",
        b"{\"errors\":[{\"code\":\"LICENSE_SUSPENDED\",\"title\":\"Access denied\"}]}",
    ];
    match rand_u32() % 6 {
        0 => garbage(rand_u32() as usize % 512),
        1 => b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"meta\"".to_vec(),
        2 => b"HTTP/1.1 200".to_vec(),
        3 => {
            let status = [200, 201, 204, 301, 400, 401, 403, 404, 422, 429, 500, 503]
                [rand_u32() as usize % 12];
            let body = body_kinds[rand_u32() as usize % body_kinds.len()];
            let mut r = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nDate: Sat, 28 Nov 2026 00:00:00 GMT\r\nDigest: sha-256=AAAA\r\nKeygen-Signature: algorithm=\"ed25519\", signature=\"{}\"\r\nRetry-After: 0\r\n\r\n",
                body.len(),
                lic::crypto::b64_std(&garbage(64))
            )
            .into_bytes();
            r.extend_from_slice(body);
            r
        }
        4 => {
            let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".to_vec();
            r.extend(garbage(64));
            r
        }
        _ => {
            let mut r = b"HTTP/1.1 200 OK\r\n".to_vec();
            r.extend(garbage(200));
            r.extend_from_slice(b"\r\n\r\n");
            r
        }
    }
}

#[test]
fn random_lies_end_in_a_status_never_a_panic_or_hang() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let server = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
                let mut buf = [0u8; 8192];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(&lie());
            }
        })
    };

    let dir = std::env::temp_dir().join(format!("lic-garbage-{}", std::process::id()));
    let mut seed = [0u8; 32];
    random_bytes(&mut seed).unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    for with_key in [true, false] {
        let cfg = Config {
            account_id: Some("acct".into()),
            base_url: format!("http://{addr}"),
            license_key: Some("KEY-1".into()),
            fingerprint: Some("fp".into()),
            public_keys: if with_key {
                KeySet::of(PublicKey::from_hex(&lic::crypto::encode_hex(key.as_bytes())).unwrap())
            } else {
                KeySet::new()
            },
            cache_dir: Some(dir.clone()),
            timeout: Duration::from_millis(500),
            ..Config::default()
        };
        let client = Client::new(cfg).unwrap();
        for round in 0..ROUNDS {
            let started = Instant::now();
            let outcome = match round % 4 {
                0 => client.validate(VALIDATE_ONLINE_ONLY).map(|_| ()),
                1 => client.validate(VALIDATE_AUTO_ACTIVATE).map(|_| ()),
                2 => client.activate().map(|_| ()),
                _ => client.deactivate(None),
            };
            assert!(
                started.elapsed() < Duration::from_millis(500 + 700),
                "round {round} took {:?}",
                started.elapsed()
            );
            if let Err(e) = outcome {
                assert_ne!(e.kind, ErrorKind::Internal, "round {round}: {e:?}");
                if with_key {
                    // Nothing unsigned (every answer here) may count as a
                    // refusal about the license.
                    assert!(
                        !matches!(
                            e.kind,
                            ErrorKind::LicenseSuspended
                                | ErrorKind::LicenseInvalid
                                | ErrorKind::LicenseExpired
                                | ErrorKind::MachineLimitExceeded
                        ),
                        "round {round}: unsigned refusal believed: {e:?}"
                    );
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = std::net::TcpStream::connect(addr);
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
