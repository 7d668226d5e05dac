//! Every signature Keygen makes, verified by lic: license keys of all eight
//! schemes, license and machine files of all eight algorithms, response
//! signatures of all four, and the real RSA-signed key from Keygen's C#
//! example. The artifacts come from `tests/support/keygen.rs`, a signer that
//! follows keygen-api's source and shares nothing with lic's verification.
//!
//! `tests/data/signing/vectors.json` holds one generated set, committed so
//! the vectors are stable (`LIC_BLESS=1 cargo test --test signing bless`
//! rewrites it); every run also checks a set made fresh with new keys.

#[path = "support/keygen.rs"]
mod keygen;

use std::collections::BTreeSet;

use lic::crypto::{KeyKind, KeySet, PublicKey};
use lic::error::ErrorKind;
use lic::evidence::files::{self, FileKind};
use lic::evidence::signed_key::verify_signed_key;
use lic::protocol::signature::{digest_header, signing_string, verify_response, RequestInfo};
use lic::time::parse_rfc3339;
use serde_json::{json, Value};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/signing/vectors.json"
);
const REAL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/keygen/example-csharp-cryptographic-verification.json"
);

const ACCOUNT: &str = "0e1d2c3b-4a59-4876-8594-a3b2c1d0e9f8";
/// The license key and fingerprint every generated file is for.
const FILE_LICENSE_KEY: &str = "LIC-VECTORS-0001-2002-3003";
const FINGERPRINT: &str = "fp-vectors-0123456789abcdef";
const CREATED: (&str, i64) = ("2024-03-01T12:00:00.000Z", 1_709_294_400);
const EXPIRY: (&str, i64) = ("2099-12-31T00:00:00.000Z", 4_102_358_400);
const ISSUED: &str = "2024-03-02T08:30:00.000Z";

/// Makes a whole set of vectors with `account`.
fn generate(account: &keygen::Account) -> Value {
    let keys: Vec<Value> = keygen::SCHEMES
        .iter()
        .enumerate()
        .map(|(i, scheme)| {
            let license_id = format!("5e7c0000-0000-4000-8000-00000000000{i}");
            let expiry = (i % 2 == 0).then_some(EXPIRY);
            let seed = account.default_seed(scheme, &license_id, CREATED.0, CREATED.1, expiry);
            json!({
                "scheme": scheme,
                "key": account.license_key(scheme, &seed),
                "license_id": license_id,
                "created": CREATED.0,
                "expiry": expiry.map(|e| e.0),
            })
        })
        .collect();
    let mut files = Vec::new();
    for kind in ["license", "machine"] {
        for enc in ["base64", "aes-256-gcm"] {
            for sig in keygen::SIGNING {
                let alg = format!("{enc}+{sig}");
                // License files last until 2099; machine files never expire.
                let (expiry, ttl) = match kind {
                    "license" => (json!(EXPIRY.0), json!(2_379_047_400i64)),
                    _ => (Value::Null, Value::Null),
                };
                let (doc, secret, data_id) = dataset(kind, &alg, expiry.clone(), ttl);
                files.push(json!({
                    "kind": kind,
                    "algorithm": alg,
                    "certificate": account.certificate(kind, &alg, &doc.to_string(), &secret),
                    "license_key": FILE_LICENSE_KEY,
                    "fingerprint": (kind == "machine").then_some(FINGERPRINT),
                    "issued": ISSUED,
                    "expiry": expiry,
                    "data_id": data_id,
                }));
            }
        }
    }
    json!({
        "account": {
            "id": account.id,
            "ed25519": account.ed25519_hex(),
            "rsa": account.rsa_pem(),
            "ecdsa": account.ecdsa_pem(),
        },
        "keys": keys,
        "files": files,
    })
}

/// A JSON:API dataset as Keygen renders it for a checkout, its secret and
/// its `data.id`.
fn dataset(kind: &str, alg: &str, expiry: Value, ttl: Value) -> (Value, String, String) {
    let license = json!({
        "id": "9f1e2d3c-0000-4000-8000-00000000f11e", "type": "licenses",
        "attributes": {"name": format!("vector {alg}"), "key": FILE_LICENSE_KEY, "expiry": null,
                       "status": "ACTIVE", "maxMachines": 1, "metadata": {}},
        "relationships": {"policy": {"data": {"type": "policies", "id": "a9b8c7d6-0000-4000-8000-000000000002"}}},
    });
    let meta = json!({"issued": ISSUED, "expiry": expiry, "ttl": ttl});
    let entitlement =
        json!({"id": "e1", "type": "entitlements", "attributes": {"code": "VECTOR_FEATURE"}});
    match kind {
        "license" => {
            let id = license["id"].as_str().unwrap().to_string();
            let doc = json!({"data": license, "included": [entitlement], "meta": meta});
            (doc, FILE_LICENSE_KEY.to_string(), id)
        }
        _ => {
            let id = "3c2b1a09-0000-4000-8000-0000000ac41e".to_string();
            let doc = json!({
                "data": {"id": id, "type": "machines",
                         "attributes": {"fingerprint": FINGERPRINT, "name": "vector machine"}},
                "included": [license, entitlement], "meta": meta});
            (doc, format!("{FILE_LICENSE_KEY}{FINGERPRINT}"), id)
        }
    }
}

fn committed() -> Value {
    let text = std::fs::read_to_string(VECTORS)
        .unwrap_or_else(|e| panic!("cannot read {VECTORS} ({e}); make it with LIC_BLESS=1"));
    serde_json::from_str(&text).unwrap()
}

fn fresh() -> Value {
    let mut seed = [0u8; 8];
    lic::crypto::random_bytes(&mut seed).unwrap();
    generate(&keygen::Account::new(ACCOUNT, u64::from_le_bytes(seed)))
}

fn key(set: &Value, kind: &str) -> PublicKey {
    PublicKey::parse(set["account"][kind].as_str().unwrap()).unwrap()
}

fn all_keys(set: &Value) -> KeySet {
    let mut keys = KeySet::new();
    for kind in ["ed25519", "rsa", "ecdsa"] {
        keys.add(key(set, kind));
    }
    keys
}

fn kind_name(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Ed25519 => "ed25519",
        KeyKind::Rsa => "rsa",
        KeyKind::EcdsaP256 => "ecdsa",
    }
}

fn scheme_kind(scheme: &str) -> KeyKind {
    match scheme {
        "ED25519_SIGN" => KeyKind::Ed25519,
        "ECDSA_P256_SIGN" => KeyKind::EcdsaP256,
        _ => KeyKind::Rsa,
    }
}

fn alg_kind(alg: &str) -> KeyKind {
    match alg.split('+').nth(1).unwrap() {
        "ed25519" => KeyKind::Ed25519,
        "ecdsa-p256" => KeyKind::EcdsaP256,
        _ => KeyKind::Rsa,
    }
}

fn others(set: &Value, kind: KeyKind) -> KeySet {
    let mut keys = KeySet::new();
    for k in [KeyKind::Ed25519, KeyKind::Rsa, KeyKind::EcdsaP256] {
        if k != kind {
            keys.add(key(set, kind_name(k)));
        }
    }
    keys
}

/// Every check a set must pass: each key and file verifies, with all keys
/// and with only its own kind, reads back what was signed, and gets
/// NO_PUBLIC_KEY (never SIGNATURE_INVALID) without a key of its kind.
fn check_set(set: &Value) {
    let all = all_keys(set);
    for v in set["keys"].as_array().unwrap() {
        let scheme = v["scheme"].as_str().unwrap();
        let text = v["key"].as_str().unwrap();
        let kind = scheme_kind(scheme);
        for keys in [all.clone(), KeySet::of(key(set, kind_name(kind)))] {
            let k = verify_signed_key(text, &keys).unwrap_or_else(|e| panic!("{scheme}: {e}"));
            assert_eq!(k.scheme.name(), scheme);
            assert_eq!(
                k.license_id().as_deref(),
                v["license_id"].as_str(),
                "{scheme}"
            );
            let want = (
                parse_rfc3339(v["created"].as_str().unwrap()),
                v["expiry"].as_str().and_then(parse_rfc3339),
            );
            assert_eq!(k.issued_and_expiry(), want, "{scheme}");
            assert!(k.json.is_some(), "{scheme}: payload is JSON");
            if scheme == "RSA_2048_JWT_RS256" {
                assert_eq!(k.account_id().as_deref(), set["account"]["id"].as_str());
            }
        }
        let e = verify_signed_key(text, &others(set, kind)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NoPublicKey, "{scheme}: {e:?}");
        assert!(e.message.contains(kind.name()), "{scheme}: {}", e.message);
    }
    let schemes: BTreeSet<&str> = set["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["scheme"].as_str().unwrap())
        .collect();
    assert_eq!(schemes, keygen::SCHEMES.into_iter().collect());

    let mut algs = BTreeSet::new();
    for v in set["files"].as_array().unwrap() {
        let alg = v["algorithm"].as_str().unwrap();
        let text = v["certificate"].as_str().unwrap();
        let kind = alg_kind(alg);
        let file_kind = match v["kind"].as_str().unwrap() {
            "license" => FileKind::License,
            _ => FileKind::Machine,
        };
        algs.insert((file_kind == FileKind::License, alg.to_string()));
        let name = format!("{} {alg}", v["kind"]);
        for keys in [all.clone(), KeySet::of(key(set, kind_name(kind)))] {
            let (cert, ds) = files::open_file(
                text,
                &keys,
                v["license_key"].as_str(),
                v["fingerprint"].as_str(),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(cert.alg.name(), alg);
            assert_eq!(cert.kind, file_kind);
            assert_eq!(cert.text, text, "{name}: Keygen's layout");
            assert_eq!(ds.doc()["data"]["id"], v["data_id"], "{name}");
            assert_eq!(
                Some(ds.issued),
                parse_rfc3339(v["issued"].as_str().unwrap())
            );
            assert_eq!(ds.expiry, v["expiry"].as_str().and_then(parse_rfc3339));
            assert_eq!(ds.entitlement_codes(), vec!["VECTOR_FEATURE"]);

            // Signature only: no license key needed.
            let check = files::check_signature(text, &keys).unwrap();
            assert!(check.valid, "{name}");
            assert_eq!(check.algorithm.name(), alg);
            assert_eq!(check.kind, file_kind);
            assert_eq!(check.encrypted(), alg.starts_with("aes-256-gcm"));
            if check.encrypted() {
                assert_eq!((check.issued, check.expiry), (None, None), "{name}");
            } else {
                assert_eq!((check.issued, check.expiry), (Some(ds.issued), ds.expiry));
            }
        }
        let e = files::open_file(
            text,
            &others(set, kind),
            v["license_key"].as_str(),
            v["fingerprint"].as_str(),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::NoPublicKey, "{name}: {e:?}");
        assert!(e.message.contains(alg.split('+').nth(1).unwrap()));
        assert_eq!(
            files::check_signature(text, &others(set, kind))
                .unwrap_err()
                .kind,
            ErrorKind::NoPublicKey
        );
    }
    assert_eq!(algs.len(), 16, "every algorithm for both kinds of file");
}

#[test]
fn committed_vectors_verify() {
    check_set(&committed());
}

#[test]
fn fresh_vectors_from_new_keys_verify() {
    check_set(&fresh());
}

/// Writes the committed set (with LIC_BLESS=1); otherwise checks that the
/// committed set is the one this generator makes from its seed, keys and
/// all, apart from what Keygen randomizes (PSS salts, IVs).
#[test]
fn bless() {
    let made = generate(&keygen::Account::new(ACCOUNT, 13));
    if std::env::var_os("LIC_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&made).unwrap() + "\n";
        std::fs::write(VECTORS, text).unwrap();
    }
    let saved = committed();
    assert_eq!(saved["account"], made["account"], "keys differ: re-bless");
    for (a, b) in saved["keys"]
        .as_array()
        .unwrap()
        .iter()
        .zip(made["keys"].as_array().unwrap())
    {
        assert_eq!(a["scheme"], b["scheme"]);
        if !a["scheme"].as_str().unwrap().contains("PSS") {
            assert_eq!(a, b, "deterministic schemes are reproducible");
        }
    }
}

/// Every single-byte alteration of every key and every certificate body
/// (each bit 0 of each byte) is rejected, for every scheme and algorithm.
#[test]
fn every_flip_is_rejected_for_every_scheme_and_algorithm() {
    let set = committed();
    let keys = all_keys(&set);
    std::thread::scope(|scope| {
        let keys = &keys;
        for v in set["keys"].as_array().unwrap() {
            scope.spawn(move || {
                let text = v["key"].as_str().unwrap();
                for i in 0..text.len() {
                    let mut b = text.as_bytes().to_vec();
                    b[i] ^= 1;
                    let flipped = String::from_utf8(b).unwrap();
                    assert!(
                        verify_signed_key(&flipped, keys).is_err(),
                        "{}: byte {i} flipped still verifies",
                        v["scheme"]
                    );
                }
            });
        }
        for v in set["files"].as_array().unwrap() {
            scope.spawn(move || {
                let text = v["certificate"].as_str().unwrap();
                let lines: Vec<&str> = text.lines().collect();
                let (head, foot) = (lines[0], lines[lines.len() - 1]);
                let body = lines[1..lines.len() - 1].concat().into_bytes();
                for i in 0..body.len() {
                    let mut b = body.clone();
                    b[i] ^= 1;
                    let flipped = format!("{head}\n{}\n{foot}\n", String::from_utf8(b).unwrap());
                    let r = files::parse_certificate(&flipped).and_then(|c| c.verify(keys));
                    let e = r.expect_err(&format!("{}: body byte {i} flipped", v["algorithm"]));
                    assert!(
                        matches!(
                            e.kind,
                            ErrorKind::SignatureInvalid
                                | ErrorKind::FileMalformed
                                | ErrorKind::UnsupportedAlgorithm
                        ),
                        "{}: {e:?}",
                        v["algorithm"]
                    );
                    // The signature-only check never calls an altered file good.
                    if let Ok(c) = files::check_signature(&flipped, keys) {
                        assert!(!c.valid, "{}: byte {i}", v["algorithm"]);
                    }
                }
            });
        }
    });
}

#[test]
fn response_signatures_of_every_algorithm_verify() {
    let set = committed();
    let account = keygen::Account::new(ACCOUNT, 13);
    let body = br#"{"data":null,"meta":{"valid":true}}"#;
    let date = "Sat, 02 Mar 2024 08:30:00 GMT";
    let digest = digest_header(body);
    let target = format!("/v1/accounts/{ACCOUNT}/me");
    for alg in keygen::SIGNING {
        // Keygen signs request.host: no port.
        let s = signing_string("GET", &target, "licensing.example.com", date, &digest);
        let header = account.response_signature(alg, &s);
        let req = RequestInfo {
            method: "GET",
            target: &target,
            host: "licensing.example.com:8443",
            host_without_port: Some("licensing.example.com"),
            port_first: false,
            account_id: ACCOUNT,
        };
        let kind = alg_kind(&format!("x+{alg}"));
        for keys in [all_keys(&set), KeySet::of(key(&set, kind_name(kind)))] {
            let (m, _, _) =
                verify_response(&keys, &req, body, Some(date), Some(&digest), Some(&header))
                    .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(m.signing_string, s);
        }
        // Signed host:port (a port-preserving proxy) verifies too.
        let s_port = signing_string("GET", &target, "licensing.example.com:8443", date, &digest);
        let h_port = account.response_signature(alg, &s_port);
        verify_response(
            &all_keys(&set),
            &req,
            body,
            Some(date),
            Some(&digest),
            Some(&h_port),
        )
        .unwrap();
        // Altered body, or the key of the kind missing.
        let mut other = body.to_vec();
        other[3] ^= 1;
        let e = verify_response(
            &all_keys(&set),
            &req,
            &other,
            Some(date),
            Some(&digest_header(&other)),
            Some(&header),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::SignatureInvalid, "{alg}");
        let e = verify_response(
            &others(&set, kind),
            &req,
            body,
            Some(date),
            Some(&digest),
            Some(&header),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnsupportedAlgorithm, "{alg}");
        assert!(e.message.contains(alg), "{}", e.message);
    }
    let header = account
        .response_signature("ed25519", "x")
        .replace("ed25519", "hmac-sha256");
    let req = RequestInfo {
        method: "GET",
        target: "/",
        host: "h",
        host_without_port: None,
        port_first: false,
        account_id: ACCOUNT,
    };
    let e = verify_response(
        &all_keys(&set),
        &req,
        body,
        Some(date),
        Some(&digest),
        Some(&header),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnsupportedAlgorithm);
    assert!(e.message.contains("hmac-sha256"), "{}", e.message);
}

#[test]
fn unsupported_key_and_file_algorithms_are_named_not_called_tampered() {
    let set = committed();
    let keys = all_keys(&set);
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    for alg in ["HS256", "none", "ES256", "RS512", "PS256"] {
        let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}"}}"#));
        let jwt = format!(
            "{header}.{}.{}",
            URL_SAFE_NO_PAD.encode(b"{}"),
            URL_SAFE_NO_PAD.encode([7u8; 32])
        );
        let e = verify_signed_key(&jwt, &keys).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnsupportedAlgorithm, "{alg}");
        assert!(e.message.contains(alg), "{}", e.message);
    }
    let file = set["files"][0]["certificate"].as_str().unwrap();
    let lines: Vec<&str> = file.lines().collect();
    let body = lines[1..lines.len() - 1].concat();
    use base64::engine::general_purpose::STANDARD;
    let mut env: Value = serde_json::from_slice(&STANDARD.decode(body).unwrap()).unwrap();
    for alg in [
        "base64+ed448",
        "aes-128-gcm+ed25519",
        "base64+rsa-pss-sha512",
        "xor+ecdsa-p256",
    ] {
        env["alg"] = json!(alg);
        let text = format!(
            "{}\n{}\n{}\n",
            lines[0],
            STANDARD.encode(env.to_string()),
            lines[lines.len() - 1]
        );
        let e = files::parse_certificate(&text).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnsupportedAlgorithm, "{alg}");
        assert!(e.message.contains(alg), "{}", e.message);
        let e = files::check_signature(&text, &keys).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnsupportedAlgorithm, "{alg}");
    }
}

/// The license key in keygen-sh/example-csharp-cryptographic-verification's
/// `Program.cs`, signed by Keygen (RSA_2048_PKCS1_PSS_SIGN_V2) with the
/// account key printed beside it. Issue 13 measured lic calling it altered.
#[test]
fn real_keygen_rsa_pss_key_from_the_csharp_example_is_valid() {
    let real: Value = serde_json::from_str(&std::fs::read_to_string(REAL).unwrap()).unwrap();
    let text = real["license_key"].as_str().unwrap();
    // The example's form: base64 of the PEM (as the account's meta.keys).
    let pk = PublicKey::parse(real["public_key"].as_str().unwrap()).unwrap();
    assert_eq!(pk.kind(), KeyKind::Rsa);
    let keys = KeySet::of(pk.clone());
    let k = verify_signed_key(text, &keys).unwrap();
    assert_eq!(k.scheme.name(), "RSA_2048_PKCS1_PSS_SIGN_V2");
    assert_eq!(
        k.license_id().as_deref(),
        real["expected"]["license_id"].as_str()
    );
    assert_eq!(
        k.issued_and_expiry(),
        (
            parse_rfc3339(real["expected"]["created"].as_str().unwrap()),
            None
        )
    );
    assert_eq!(
        k.account_id().as_deref(),
        real["expected"]["account_id"].as_str()
    );
    assert_eq!(
        k.policy_id().as_deref(),
        real["expected"]["policy_id"].as_str()
    );
    // With the Ed25519 key beside it, still the RSA key decides.
    let mut both = keys.clone();
    both.add(key(&committed(), "ed25519"));
    assert_eq!(verify_signed_key(text, &both).unwrap(), k);
    // Only another account's RSA key: not genuine for that account.
    let e = verify_signed_key(text, &KeySet::of(key(&committed(), "rsa"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::SignatureInvalid);
    // Only an Ed25519 key: lic cannot tell, and says which key it needs.
    let e = verify_signed_key(text, &KeySet::of(key(&committed(), "ed25519"))).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NoPublicKey);
    assert!(e.message.contains("RSA"), "{}", e.message);

    // The same key in the other forms Keygen shows: PEM text and DER.
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let pem = String::from_utf8(
        STANDARD
            .decode(real["public_key"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(PublicKey::parse(&pem).unwrap(), pk);
    let der: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(PublicKey::parse(&der).unwrap(), pk);

    for i in 0..text.len() {
        let mut b = text.as_bytes().to_vec();
        b[i] ^= 1;
        let flipped = String::from_utf8(b).unwrap();
        assert!(verify_signed_key(&flipped, &keys).is_err(), "byte {i}");
    }
}
