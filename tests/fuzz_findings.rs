//! Every input a fuzz target (fuzz/, scripts/fuzz-smoke) crashed on,
//! replayed through the same public functions, so the normal test suite
//! keeps each one fixed without a nightly toolchain.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

use ed25519_dalek::{Signer, SigningKey};
use lic::client::{Client, VALIDATE_ONLINE_ONLY};
use lic::crypto::PublicKey;
use lic::error::ErrorKind;
use lic::protocol::signature::{digest_header, signing_string, verify_response, RequestInfo};
use lic::time::parse_http_date;

/// A `Date` whose year does not fit the arithmetic.
const HUGE_YEAR: &str = "Thu, 01 Jan 999999999999 00:00:00 GMT";
/// The one the `response` target found (its input is kept in
/// fuzz/corpus/response/regression-date-year-overflow).
const FOUND: &str = "Wed, 02 Dec 55555552026 00:40:34 GMT";

/// `response` target: a `Date` with an 11-digit year overflowed the
/// milliseconds ("attempt to multiply with overflow" in src/time.rs: a panic
/// in debug builds, a wrapped date in release). The header is parsed before
/// the signature is checked, so any server could send it. HTTP dates now
/// have RFC 9110's field widths.
#[test]
fn an_http_date_with_an_oversized_field_is_not_a_date() {
    for date in [
        FOUND,
        HUGE_YEAR,
        "Thu, 01 Jan 9223372036854775807 00:00:00 GMT",
        "Thu, 01 Jan -9223372036854775808 00:00:00 GMT",
        "Thu, 01 Jan 99999 00:00:00 GMT",
        "Thu, 01 Jan +2026 00:00:00 GMT",
        "Thu, +1 Jan 2026 00:00:00 GMT",
        "Thu, 001 Jan 2026 00:00:00 GMT",
        "Thu, 01 Jan 2026 000:00:00 GMT",
        "Thu, 01 Jan 2026 +0:00:00 GMT",
        "Thu, 01 Jan 2026 4294967295:00:00 GMT",
    ] {
        assert_eq!(parse_http_date(date), None, "{date}");
    }
    assert!(parse_http_date("Tue, 01 Dec 2026 23:50:44 GMT").is_some());
    assert!(parse_http_date("Tue, 1 Dec 2026 23:50:44 GMT").is_some());
}

/// The same input as the `response` target met it: a correctly signed
/// exchange whose Date has the oversized year is refused, not a panic.
#[test]
fn a_signed_response_with_an_oversized_date_is_refused() {
    let key = SigningKey::from_bytes(&[0x5a; 32]);
    let public = PublicKey::from_hex(
        &key.verifying_key()
            .as_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    )
    .unwrap();
    let body = b"{}";
    let digest = digest_header(body);
    let signing = signing_string("POST", "/v1/x", "h:1", HUGE_YEAR, &digest);
    let sig = lic::crypto::b64_std(&key.sign(signing.as_bytes()).to_bytes());
    let header = format!(
        r#"keyid="acct", algorithm="ed25519", signature="{sig}", headers="(request-target) host date digest""#
    );
    let req = RequestInfo {
        method: "POST",
        target: "/v1/x",
        host: "h:1",
        host_without_port: Some("h"),
        port_first: false,
        account_id: "acct",
    };
    let e = verify_response(
        &lic::crypto::KeySet::of(public),
        &req,
        body,
        Some(HUGE_YEAR),
        Some(&digest),
        Some(&header),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::SignatureInvalid, "{}", e.message);
}

/// And through the client: a server (unsigned, no public key configured)
/// whose answers carry that Date. Every response's Date is parsed, so this
/// panicked inside lic_validate in a debug build.
#[test]
fn a_server_sending_an_oversized_date_gets_a_normal_answer() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut request = vec![0; length];
        reader.read_exact(&mut request).unwrap();
        let sent: serde_json::Value = serde_json::from_slice(&request).unwrap();
        let body = serde_json::json!({ "data": null, "meta": {
            "valid": false, "detail": "does not exist", "code": "NOT_FOUND",
            "nonce": sent["meta"]["nonce"], "scope": sent["meta"]["scope"] } })
        .to_string();
        let mut out = stream;
        write!(
            out,
            "HTTP/1.1 200 OK\r\nDate: {HUGE_YEAR}\r\nContent-Type: application/vnd.api+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    let client = Client::new(lic::config::Config {
        account_id: Some("acct".into()),
        base_url: format!("http://{addr}"),
        license_key: Some("NO-SUCH-KEY".into()),
        fingerprint: Some("fp-fuzz-date".into()),
        cache_dir: Some(std::env::temp_dir().join(format!("lic-fuzz-date-{}", std::process::id()))),
        ..lic::config::Config::default()
    })
    .unwrap();
    let v = client.validate(VALIDATE_ONLINE_ONLY).unwrap();
    assert_eq!(v.code_text, "NOT_FOUND");
    assert_eq!(v.timestamp, None, "an unusable Date gives no timestamp");
    server.join().unwrap();
}
