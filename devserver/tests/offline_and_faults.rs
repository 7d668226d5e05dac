//! Check-out files (§5) verified and decrypted with ed25519-dalek/aes-gcm directly, response
//! signatures on every kind of response (§7), and every fault mode seen from a client.

mod common;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use ed25519_dalek::Signature;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// Parses a certificate as a client would: checks framing, verifies the signature over
/// `<prefix>/<enc>`, decrypts or decodes, and returns (alg, dataset).
fn open_certificate(env: &Env, cert: &str, prefix: &str, secret: &str) -> (String, Value) {
    let label = prefix.to_uppercase();
    let header = format!("-----BEGIN {label} FILE-----\n");
    let footer = format!("\n-----END {label} FILE-----\n");
    assert!(
        cert.starts_with(&header) && cert.ends_with(&footer),
        "{cert}"
    );
    let body = &cert[header.len()..cert.len() - footer.len()];
    let lines: Vec<&str> = body.split('\n').collect();
    assert!(
        lines.iter().all(|l| l.len() <= 60)
            && lines[..lines.len() - 1].iter().all(|l| l.len() == 60)
    );
    let doc: Value = serde_json::from_slice(&STANDARD.decode(lines.concat()).unwrap()).unwrap();
    let (enc, sig, alg) = (
        doc["enc"].as_str().unwrap(),
        doc["sig"].as_str().unwrap(),
        doc["alg"].as_str().unwrap(),
    );
    let sig = Signature::from_slice(&STANDARD.decode(sig).unwrap()).unwrap();
    env.key
        .verify_strict(format!("{prefix}/{enc}").as_bytes(), &sig)
        .expect("certificate signature verifies");
    let other = if prefix == "license" {
        "machine"
    } else {
        "license"
    };
    assert!(env
        .key
        .verify_strict(format!("{other}/{enc}").as_bytes(), &sig)
        .is_err());
    let plaintext = match alg {
        "base64+ed25519" => STANDARD.decode(enc).unwrap(),
        "aes-256-gcm+ed25519" => {
            let parts: Vec<Vec<u8>> = enc
                .split('.')
                .map(|p| STANDARD.decode(p).unwrap())
                .collect();
            let (ct, iv, tag) = (&parts[0], &parts[1], &parts[2]);
            assert_eq!((iv.len(), tag.len()), (12, 16));
            let key = Sha256::digest(secret.as_bytes());
            let cipher = Aes256Gcm::new_from_slice(&key).unwrap();
            let sealed = [ct.as_slice(), tag.as_slice()].concat();
            cipher
                .decrypt(Nonce::from_slice(iv), sealed.as_slice())
                .expect("decrypts with the secret")
        }
        other => panic!("unexpected alg {other}"),
    };
    (alg.to_string(), serde_json::from_slice(&plaintext).unwrap())
}

#[test]
fn license_and_machine_files() {
    let env = env();
    let lic = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    let ent = env.call("POST", "/v1/entitlements", Auth::Admin, Some(json!({ "data": { "type": "entitlements", "attributes": { "name": "Pro", "code": "PRO" } } }))).id();
    env.call(
        "POST",
        &format!("/v1/licenses/{}/entitlements", lic.id),
        Auth::Admin,
        Some(json!({ "data": [{ "type": "entitlements", "id": ent }] })),
    );
    let auth = Auth::License(&lic.key);
    let path = format!("/v1/licenses/{}/actions/check-out", lic.id);

    let r = env.call("POST", &format!("{path}?include=entitlements"), auth, None);
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["data"]["type"], "license-files");
    let a = &r.json["data"]["attributes"];
    assert_eq!(
        (a["ttl"].as_i64(), a["algorithm"].as_str()),
        (Some(2_629_746), Some("base64+ed25519"))
    );
    let (alg, data) = open_certificate(
        &env,
        a["certificate"].as_str().unwrap(),
        "license",
        &lic.key,
    );
    assert_eq!(alg, "base64+ed25519");
    assert_eq!(
        (data["data"]["type"].as_str(), data["data"]["id"].as_str()),
        (Some("licenses"), Some(lic.id.as_str()))
    );
    assert_eq!(data["included"][0]["attributes"]["code"], "PRO");
    assert_eq!(data["meta"]["issued"], a["issued"]);
    // One ActiveSupport month is a calendar month, not 2629746 seconds.
    let (issued, expiry) = (
        data["meta"]["issued"].as_str().unwrap(),
        data["meta"]["expiry"].as_str().unwrap(),
    );
    let month = |s: &str| s[5..7].parse::<u32>().unwrap();
    assert_eq!(month(expiry), month(issued) % 12 + 1);
    assert_eq!(&expiry[10..], &issued[10..]);

    let body = json!({ "meta": { "encrypt": true, "ttl": null } });
    let r = env.call("POST", &path, auth, Some(body));
    let a = &r.json["data"]["attributes"];
    assert_eq!(
        (a["ttl"].clone(), a["expiry"].clone()),
        (Value::Null, Value::Null)
    );
    let (alg, data) = open_certificate(
        &env,
        a["certificate"].as_str().unwrap(),
        "license",
        &lic.key,
    );
    assert_eq!(alg, "aes-256-gcm+ed25519");
    assert_eq!(
        (data["meta"]["ttl"].clone(), data.get("included")),
        (Value::Null, None)
    );

    let r = env.call(
        "GET",
        &format!("{path}?algorithm=aes-256-gcm%2Bed25519&ttl=31536000"),
        auth,
        None,
    );
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(
        r.header("content-disposition"),
        Some(format!("attachment; filename=\"{}.lic\"", lic.id).as_str())
    );
    let (_, data) = open_certificate(
        &env,
        std::str::from_utf8(&r.raw).unwrap(),
        "license",
        &lic.key,
    );
    assert_eq!(data["meta"]["ttl"], 31_536_000);

    for (query, code, detail) in [
        (
            "ttl=3599",
            "CHECKOUT_TTL_INVALID",
            "must be greater than or equal to 3600 (1 hour)",
        ),
        (
            "algorithm=rot13%2Bed25519",
            "CHECKOUT_ALGORITHM_INVALID",
            "invalid encoding algorithm",
        ),
        (
            "algorithm=base64%2Bmd5",
            "CHECKOUT_ALGORITHM_INVALID",
            "invalid signing algorithm",
        ),
        (
            "include=machines",
            "CHECKOUT_INCLUDE_INVALID",
            "invalid includes",
        ),
    ] {
        let r = env.call("POST", &format!("{path}?{query}"), auth, None);
        assert_eq!(
            (r.status, r.code(), r.detail()),
            (400, code, detail),
            "{query}"
        );
    }

    env.activate(&lic, "dev-1");
    let mpath = "/v1/machines/dev-1/actions/check-out?encrypt=true&include=license,license.entitlements,components";
    let r = env.call("POST", mpath, auth, None);
    assert_eq!(r.json["data"]["type"], "machine-files");
    let cert = r.json["data"]["attributes"]["certificate"]
        .as_str()
        .unwrap();
    let (_, data) = open_certificate(&env, cert, "machine", &format!("{}dev-1", lic.key));
    assert_eq!(data["data"]["attributes"]["fingerprint"], "dev-1");
    let types: Vec<&str> = data["included"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["licenses", "entitlements"]);
    assert!(env
        .call("GET", &format!("/v1/licenses/{}", lic.id), auth, None)
        .attr("lastCheckOut")
        .is_string());
}

#[test]
fn every_response_is_signed() {
    let env = env();
    let lic = env.license(json!({ "authenticationStrategy": "LICENSE", "floating": true }));
    env.activate(&lic, "s");
    // `call` verifies the signature; cover 200, 201, 204, 400, 401, 403, 404 and 422, on both URL shapes.
    let prefix = format!("/v1/accounts/{}", env.account());
    for base in ["/v1", prefix.as_str()] {
        assert_eq!(
            env.call("GET", &format!("{base}/me"), Auth::License(&lic.key), None)
                .status,
            200
        );
        assert_eq!(
            env.activate(&lic, "t").status,
            if base == "/v1" { 201 } else { 422 }
        );
        assert_eq!(
            env.call("GET", &format!("{base}/me"), Auth::None, None)
                .status,
            401
        );
        assert_eq!(
            env.call(
                "GET",
                &format!("{base}/products"),
                Auth::License(&lic.key),
                None
            )
            .status,
            403
        );
        assert_eq!(
            env.call(
                "GET",
                &format!("{base}/machines/missing"),
                Auth::Admin,
                None
            )
            .status,
            404
        );
        let bad = json!({ "meta": { "key": 5 } });
        assert_eq!(
            env.call(
                "POST",
                &format!("{base}/licenses/actions/validate-key?x=1"),
                Auth::None,
                Some(bad)
            )
            .status,
            400
        );
    }
    assert_eq!(
        env.call("DELETE", "/v1/machines/t", Auth::License(&lic.key), None)
            .status,
        204
    );
    // The signature covers the Host header without its port (Rails' `request.host`).
    let resp = env.send("GET", "/v1/me", Auth::License(&lic.key), None, &[]);
    assert!(verify_signature(&env.key, &resp, "GET", "/v1/me", env.host()).is_ok());
    assert!(verify_signature(&env.key, &resp, "GET", "/v1/me", &env.addr).is_err());
    assert_eq!(resp.header("keygen-date"), resp.header("date"));
    assert_eq!(resp.header("keygen-digest"), resp.header("digest"));
    let params = sig_params(resp.header("keygen-signature").unwrap());
    assert!(params.contains(&("keyid".to_string(), env.account())));
}

fn fault(env: &Env, f: Value) {
    env.admin.set_fault(f);
}

#[test]
fn fault_modes() {
    let env = env();
    let lic = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    let me = || env.send("GET", "/v1/me", Auth::License(&lic.key), None, &[]);
    let raw_me = || {
        let auth = format!("License {}", lic.key);
        lic_devserver::raw::send(&env.addr, "GET", "/v1/me", &[("Authorization", &auth)], b"")
    };
    let verified = |r: &Resp| verify_signature(&env.key, r, "GET", "/v1/me", env.host());

    fault(&env, json!({ "mode": "refuse" }));
    assert!(raw_me().is_err());
    assert!(verified(&me()).is_ok());

    fault(&env, json!({ "mode": "offline", "path": "/me" }));
    assert!(raw_me().is_err() && raw_me().is_err());
    let (_, listed) = env.admin.request("GET", "/v1/dev/faults", None).unwrap();
    assert_eq!(listed["faults"][0]["mode"], "offline");
    env.admin.clear_faults();
    assert_eq!(me().status, 200);

    fault(&env, json!({ "mode": "hang", "delay_ms": 300 }));
    let t = Instant::now();
    let r = me();
    assert!(t.elapsed() >= Duration::from_millis(300) && verified(&r).is_ok());

    fault(&env, json!({ "mode": "status", "status": 503 }));
    let r = me();
    assert_eq!(
        (r.status, r.json["errors"][0]["title"].as_str()),
        (503, Some("Service unavailable"))
    );
    assert!(r.header("keygen-signature").is_none());

    fault(&env, json!({ "mode": "rate_limit", "retry_after": 7 }));
    let r = me();
    assert_eq!(
        (r.status, r.code(), r.header("retry-after")),
        (429, "TOO_MANY_REQUESTS", Some("7"))
    );
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));
    assert!(r.header("keygen-signature").is_none());

    fault(&env, json!({ "mode": "drop" }));
    assert!(
        raw_me().is_err(),
        "a truncated body is an error for the client"
    );

    fault(&env, json!({ "mode": "tamper" }));
    assert!(verified(&me()).unwrap_err().contains("digest"));
    fault(&env, json!({ "mode": "unsigned" }));
    let r = me();
    assert!(r.header("keygen-signature").is_none() && r.header("digest").is_some());
    fault(&env, json!({ "mode": "wrong_key" }));
    assert!(verified(&me()).unwrap_err().contains("bad signature"));

    fault(&env, json!({ "mode": "stale_date", "skew_seconds": 3600 }));
    let r = me();
    assert!(
        verified(&r).is_ok(),
        "stale responses are consistently signed"
    );
    let fresh = me();
    assert_ne!(r.header("date"), fresh.header("date"));

    // Replay: the previous response for the same method and path, byte for byte.
    let original = me();
    std::thread::sleep(Duration::from_millis(1100));
    fault(&env, json!({ "mode": "replay", "path": "/v1/me" }));
    let replayed = me();
    assert_eq!(
        (replayed.raw.clone(), replayed.header("date")),
        (original.raw.clone(), original.header("date"))
    );
    assert_eq!(
        replayed.header("keygen-signature"),
        original.header("keygen-signature")
    );
    assert!(verified(&replayed).is_ok());

    // Matching by method and path, with a count.
    fault(
        &env,
        json!({ "mode": "status", "status": 500, "path": "validate", "method": "POST", "count": 2 }),
    );
    assert_eq!(me().status, 200);
    let path = format!("/v1/licenses/{}/actions/validate", lic.id);
    assert_eq!(
        env.send("GET", &path, Auth::License(&lic.key), None, &[])
            .status,
        200
    );
    for expected in [500, 500, 200] {
        assert_eq!(
            env.send("POST", &path, Auth::License(&lic.key), None, &[])
                .status,
            expected
        );
    }
    // Dev endpoints are never faulted and need the admin token.
    fault(&env, json!({ "mode": "offline" }));
    assert_eq!(
        env.admin.request("GET", "/v1/dev/clock", None).unwrap().0,
        200
    );
    env.admin.clear_faults();
    let r = lic_devserver::raw::send(
        &env.addr,
        "GET",
        "/v1/dev/clock",
        &[("Authorization", &format!("License {}", lic.key))],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 401);
    let (status, _) = env
        .admin
        .request(
            "POST",
            "/v1/dev/faults",
            Some(&json!({ "mode": "explode" })),
        )
        .unwrap();
    assert_eq!(status, 400);
}
