//! Writes the seed corpus: the real Keygen vectors (`../shared/vectors`) in
//! each target's input format, their datasets and payloads for the forged
//! modes, and real exchanges with an in-process lic-devserver that signs
//! with the fuzzer's key. Run from fuzz/:
//! `cargo +nightly run --features seeds --bin make-seeds` (see fuzz/README.md).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use lic_devserver::{DevServer, Options};
use lic_fuzz::*;
use serde_json::{json, Value};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn with_mode(mode: u8, bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![mode];
    v.extend_from_slice(bytes);
    v
}

/// One request over a fresh connection (its bytes kept as a seed of the
/// devserver_request target); the raw response split up.
fn exchange(
    name: &str,
    addr: &str,
    method: &str,
    target: &str,
    auth: Option<&str>,
    body: Option<&Value>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/vnd.api+json\r\nContent-Type: application/vnd.api+json\r\nContent-Length: {}\r\n",
        payload.len()
    );
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(&payload);
    write("devserver_request", name, req.as_bytes());
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (status, headers, body)
}

const STATUSES: [u16; 12] = [200, 201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503];

fn main() {
    let vectors = Path::new("../../shared/vectors");
    let key = vector_public_key();

    // files: the real certificates, and their datasets for the forged modes.
    for (name, license_key, fp) in [
        (
            "machine-python.lic",
            VECTOR_LICENSE_KEYS[0],
            Some(VECTOR_FINGERPRINT),
        ),
        ("license-rust.lic", VECTOR_LICENSE_KEYS[1], None),
        ("license-cpp-nottl.lic", VECTOR_LICENSE_KEYS[2], None),
        ("license-go-sigonly.lic", "", None),
    ] {
        let text = std::fs::read(vectors.join(name)).unwrap();
        write("files", &format!("real-{name}"), &with_mode(0, &text));
        let Ok((_, ds)) = lic::evidence::files::open_file(
            std::str::from_utf8(&text).unwrap(),
            &key,
            Some(license_key),
            fp,
        ) else {
            continue;
        };
        // The plaintext as the forged modes wrap it (machine bit 2, encrypted bit 4).
        let plain = serde_json::to_vec(ds.doc()).unwrap();
        let machine = if fp.is_some() { 2 } else { 0 };
        write(
            "files",
            &format!("forged-enc-{name}"),
            &with_mode(1 | machine | 4, &plain),
        );
        write(
            "files",
            &format!("forged-b64-{name}"),
            &with_mode(1 | machine, &plain),
        );
    }

    // signed_key: the real key, and its payload for the forged modes.
    let real_key = std::fs::read(vectors.join("key-java-ed25519.txt")).unwrap();
    write(
        "signed_key",
        "real-key-java-ed25519",
        &with_mode(0, &real_key),
    );
    let signed =
        lic::evidence::signed_key::verify_signed_key(std::str::from_utf8(&real_key).unwrap(), &key)
            .expect("the real key verifies");
    write(
        "signed_key",
        "forged-padded",
        &with_mode(1, &signed.payload),
    );
    write(
        "signed_key",
        "forged-unpadded",
        &with_mode(3, &signed.payload),
    );

    // response: real exchanges with a devserver that signs with the fuzzer's key.
    let server = DevServer::start(Options {
        signing_key_seed: Some(FUZZ_SEED),
        account_id: Some(FUZZ_ACCOUNT.to_string()),
        admin_token: Some(FUZZ_ADMIN_TOKEN.to_string()),
        ..Options::default()
    })
    .unwrap();
    let admin = server.admin();
    let product = admin.create_product("Fuzz");
    let policy = admin.create_policy(
        &product,
        json!({ "name": "fuzz", "authenticationStrategy": "LICENSE", "maxMachines": 1,
                "maxProcesses": 2, "strict": true }),
    );
    let (license_id, license_key) = admin.create_license(&policy, json!({ "name": "Fuzz" }));
    let addr = server.base_url().trim_start_matches("http://").to_string();
    let auth = format!("License {license_key}");
    let validate = |key: &str, fp: &str| json!({ "meta": { "key": key, "nonce": 1234567, "scope": { "fingerprint": fp } } });
    let activation = json!({ "data": { "type": "machines",
        "attributes": { "fingerprint": "fuzz-fp", "platform": "linux/x86_64", "cores": 2 },
        "relationships": { "license": { "data": { "type": "licenses", "id": license_id } } } } });
    let mut cases: Vec<(&str, &str, String, Option<&str>, Option<Value>)> = vec![
        (
            "validate-no-machine",
            "POST",
            "/v1/licenses/actions/validate-key".into(),
            None,
            Some(validate(&license_key, "fuzz-fp")),
        ),
        (
            "validate-not-found",
            "POST",
            "/v1/licenses/actions/validate-key".into(),
            None,
            Some(validate("NO-SUCH-KEY", "fuzz-fp")),
        ),
        ("me", "GET", "/v1/me".into(), Some(&auth), None),
        (
            "activate",
            "POST",
            "/v1/machines".into(),
            Some(&auth),
            Some(activation.clone()),
        ),
        (
            "activate-again",
            "POST",
            "/v1/machines".into(),
            Some(&auth),
            Some(activation),
        ),
        (
            "validate-valid",
            "POST",
            "/v1/licenses/actions/validate-key".into(),
            None,
            Some(validate(&license_key, "fuzz-fp")),
        ),
        (
            "machines",
            "GET",
            "/v1/machines?page%5Bsize%5D=100&page%5Bnumber%5D=1".into(),
            Some(&auth),
            None,
        ),
        (
            "entitlements",
            "GET",
            format!("/v1/licenses/{license_id}/entitlements"),
            Some(&auth),
            None,
        ),
        (
            "bad-auth",
            "GET",
            "/v1/me".into(),
            Some("License WRONG"),
            None,
        ),
    ];
    let mut machine_id = String::new();
    for (name, method, target, auth, body) in cases.drain(..) {
        let (status, headers, resp) = exchange(name, &addr, method, &target, auth, body.as_ref());
        if name == "activate" {
            let v: Value = serde_json::from_slice(&resp).unwrap();
            machine_id = v["data"]["id"].as_str().unwrap().to_string();
        }
        save_exchange(name, method, &target, &addr, status, &headers, &resp);
    }
    let checkout = json!({ "meta": { "algorithm": "aes-256-gcm+ed25519",
        "include": ["license", "license.entitlements", "license.policy"], "ttl": 2629746 } });
    let target = format!("/v1/machines/{machine_id}/actions/check-out");
    let (status, headers, resp) = exchange(
        "check-out",
        &addr,
        "POST",
        &target,
        Some(&auth),
        Some(&checkout),
    );
    save_exchange("check-out", "POST", &target, &addr, status, &headers, &resp);
    // The checked-out machine file, for the files target's forged modes' real sibling.
    let v: Value = serde_json::from_slice(&resp).unwrap();
    if let Some(cert) = v
        .pointer("/data/attributes/certificate")
        .and_then(Value::as_str)
    {
        write(
            "files",
            "devserver-machine-file",
            &with_mode(0, cert.as_bytes()),
        );
    }
    let target = format!("/v1/machines/{machine_id}");
    let (status, headers, resp) =
        exchange("deactivate", &addr, "DELETE", &target, Some(&auth), None);
    save_exchange(
        "deactivate",
        "DELETE",
        &target,
        &addr,
        status,
        &headers,
        &resp,
    );
    // Admin requests (the devserver_request target knows the admin token),
    // and the shapes a parser meets: pipelining, a chunked body, bad JSON.
    let bearer = format!("Bearer {FUZZ_ADMIN_TOKEN}");
    for (name, method, target, body) in [
        (
            "admin-product",
            "POST",
            "/v1/products",
            json!({ "data": { "type": "products", "attributes": { "name": "P" } } }),
        ),
        (
            "admin-policy",
            "POST",
            "/v1/policies",
            json!({ "data": { "type": "policies",
            "attributes": { "name": "p", "maxMachines": 2, "floating": true, "heartbeatDuration": 600,
                            "expirationStrategy": "RESTRICT_ACCESS", "authenticationStrategy": "LICENSE" },
            "relationships": { "product": { "data": { "type": "products", "id": product } } } } }),
        ),
        (
            "admin-license",
            "POST",
            "/v1/licenses",
            json!({ "data": { "type": "licenses",
            "attributes": { "name": "L", "expiry": "2030-01-01T00:00:00Z", "metadata": { "k": 1 } },
            "relationships": { "policy": { "data": { "type": "policies", "id": policy } } } } }),
        ),
        (
            "admin-entitlement",
            "POST",
            "/v1/entitlements",
            json!({ "data": { "type": "entitlements",
            "attributes": { "name": "E", "code": "E1" } } }),
        ),
        (
            "admin-suspend",
            "POST",
            &format!("/v1/licenses/{license_id}/actions/suspend"),
            Value::Null,
        ),
    ] {
        let _ = exchange(
            name,
            &addr,
            method,
            target,
            Some(&bearer),
            (!body.is_null()).then_some(&body),
        );
    }
    let ping = "GET /v1/ping HTTP/1.1\r\nHost: fuzz\r\n\r\n";
    write(
        "devserver_request",
        "pipelined",
        format!("{ping}{ping}").as_bytes(),
    );
    write(
        "devserver_request",
        "chunked",
        format!("POST /v1/licenses/actions/validate-key HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/vnd.api+json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{{\"met\r\n0\r\n\r\n").as_bytes(),
    );
    write(
        "devserver_request",
        "bad-json",
        b"POST /v1/machines HTTP/1.1\r\nHost: fuzz\r\nAuthorization: Bearer fuzz-admin-token\r\nContent-Type: application/vnd.api+json\r\nContent-Length: 9\r\n\r\n{\"data\":[",
    );
    println!("seeds written under corpus/");
}

fn save_exchange(
    name: &str,
    method: &str,
    target: &str,
    host: &str,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) {
    let header = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let ex = Exchange {
        flags: 0,
        status,
        method: method.to_string(),
        target: target.to_string(),
        host: host.to_string(),
        date: header("Date"),
        digest: header("Digest"),
        signature: header("Keygen-Signature"),
        body: body.to_vec(),
    };
    let index = STATUSES.iter().position(|&s| s == status).unwrap_or(0) as u8;
    write("response", &format!("{name}-{status}"), &ex.to_bytes(index));
    let mut resigned = ex;
    resigned.flags = RESIGN;
    write(
        "response",
        &format!("{name}-{status}-resign"),
        &resigned.to_bytes(index),
    );
}
