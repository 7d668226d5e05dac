//! Keygen behaviours the devserver reproduces, each stated with the keygen-api file it comes
//! from (issue 13 §2): every signature algorithm and key scheme, check-out algorithms and
//! their defaults, the includes of machine files (A), the signed host (B), API versions 1.0
//! to 1.8 (C) and the smaller differences (D). Signatures are checked here with RustCrypto's
//! verifying halves directly, not with the server's code.

mod common;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use common::*;
use lic_devserver::{DevServer, Options};
use p256::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, Pss, RsaPublicKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The account's three public keys, read from the embedding API.
struct Keys {
    ed: ed25519_dalek::VerifyingKey,
    rsa: RsaPublicKey,
    ecdsa: p256::ecdsa::VerifyingKey,
}

fn keys(server: &DevServer) -> Keys {
    let ed: [u8; 32] = hex(&server.public_key_hex()).try_into().unwrap();
    Keys {
        ed: ed25519_dalek::VerifyingKey::from_bytes(&ed).unwrap(),
        rsa: RsaPublicKey::from_public_key_pem(&server.rsa_public_key_pem()).unwrap(),
        ecdsa: p256::ecdsa::VerifyingKey::from_public_key_pem(&server.ecdsa_public_key_pem())
            .unwrap(),
    }
}

/// Whether `sig` is `alg`'s signature over `msg` (keygen-api.md §5.3).
fn verifies(k: &Keys, alg: &str, msg: &[u8], sig: &[u8]) -> bool {
    let digest = Sha256::digest(msg);
    match alg {
        "ed25519" => ed25519_dalek::Signature::from_slice(sig)
            .is_ok_and(|s| k.ed.verify_strict(msg, &s).is_ok()),
        // OpenSSL's `salt_length: :max`: emLen - hLen - 2 = 222 for RSA-2048.
        "rsa-pss-sha256" => k
            .rsa
            .verify(Pss::new_with_salt::<Sha256>(222), &digest, sig)
            .is_ok(),
        "rsa-sha256" => k
            .rsa
            .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, sig)
            .is_ok(),
        "ecdsa-p256" => {
            use p256::ecdsa::signature::Verifier;
            p256::ecdsa::Signature::from_der(sig).is_ok_and(|s| k.ecdsa.verify(msg, &s).is_ok())
        }
        _ => false,
    }
}

/// Verifies a response's Keygen-Signature with `alg`'s key over `host`.
fn response_verifies(
    k: &Keys,
    r: &Resp,
    method: &str,
    target: &str,
    host: &str,
    alg: &str,
) -> bool {
    let Some(header) = r.header("keygen-signature") else {
        return false;
    };
    let params = sig_params(header);
    let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let digest = r.header("digest").unwrap_or_default();
    if digest != format!("sha-256={}", b64(&Sha256::digest(&r.raw))) {
        return false;
    }
    let signing = format!(
        "(request-target): {} {target}\nhost: {host}\ndate: {}\ndigest: {digest}",
        method.to_lowercase(),
        r.header("date").unwrap_or_default()
    );
    let sig = STANDARD
        .decode(get("signature").unwrap_or_default())
        .unwrap_or_default();
    get("algorithm").is_some_and(|a| a.eq_ignore_ascii_case(alg))
        && verifies(k, alg, signing.as_bytes(), &sig)
}

const ALGS: [&str; 4] = ["ed25519", "rsa-pss-sha256", "rsa-sha256", "ecdsa-p256"];

/// keygen-api `app/controllers/concerns/signature_headers.rb` and `signature_methods.rb`:
/// `Keygen-Accept-Signature` (ACCEPT_SIGNATURE_RE) selects the algorithm, whose name is echoed
/// as sent; malformed or unsupported values are 400s that carry no signature headers (the
/// header is parsed again when signing and skipped); another account's keyid is a 400 with
/// Date and Digest but no Keygen-Signature (`generate_signature_header` returns nil).
#[test]
fn accept_signature_selects_every_algorithm_and_keygens_400s() {
    let env = env();
    let k = keys(&env.server);
    let lic = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    let me = |accept: &str| {
        env.send(
            "GET",
            "/v1/me",
            Auth::License(&lic.key),
            None,
            &[("Keygen-Accept-Signature", accept)],
        )
    };
    for alg in ALGS {
        for accept in [
            format!(r#"algorithm="{alg}""#),
            format!(r#"keyid="{}", algorithm="{alg}""#, env.account()),
        ] {
            let r = me(&accept);
            assert_eq!(r.status, 200, "{accept}: {}", r.json);
            assert!(
                response_verifies(&k, &r, "GET", "/v1/me", env.host(), alg),
                "{accept}"
            );
            for other in ALGS.iter().filter(|a| **a != alg) {
                assert!(!response_verifies(
                    &k,
                    &r,
                    "GET",
                    "/v1/me",
                    env.host(),
                    other
                ));
            }
        }
    }
    // Matched case-insensitively, echoed as written.
    let r = me(r#"ALGORITHM="RSA-PSS-SHA256""#);
    assert_eq!(r.status, 200);
    assert!(r
        .header("keygen-signature")
        .unwrap()
        .contains(r#"algorithm="RSA-PSS-SHA256""#));
    assert!(response_verifies(
        &k,
        &r,
        "GET",
        "/v1/me",
        env.host(),
        "rsa-pss-sha256"
    ));

    for (accept, detail) in [
        ("ed25519", "invalid accept-signature header (malformed)"),
        (
            r#"algorithm="ed25519", keyid="x""#,
            "invalid accept-signature header (malformed)",
        ),
        (
            r#"algorithm="hmac-sha256""#,
            "invalid accept-signature header (unsupported algorithm)",
        ),
    ] {
        let r = me(accept);
        assert_eq!((r.status, r.detail()), (400, detail), "{accept}");
        assert!(r.header("keygen-signature").is_none() && r.header("digest").is_none());
    }
    let r = me(r#"keyid="someone-else", algorithm="ed25519""#);
    assert_eq!(
        (r.status, r.detail()),
        (400, "invalid accept-signature header (keyid not found)")
    );
    assert!(r.header("keygen-signature").is_none());
    assert!(r.header("digest").is_some() && r.header("date").is_some());
}

/// keygen-api `app/models/account.rb`: an account has Ed25519, RSA-2048 and ECDSA P-256 keys.
/// Here all three derive from `--signing-key-seed` (the state file keeps the seed).
#[test]
fn the_three_account_keys_are_deterministic_from_the_seed() {
    let start = |seed| {
        DevServer::start(Options {
            signing_key_seed: Some(seed),
            ..Options::default()
        })
        .unwrap()
    };
    let (a, b, c) = (start([5; 32]), start([5; 32]), start([6; 32]));
    let pair = |s: &DevServer| {
        (
            s.public_key_hex(),
            s.rsa_public_key_pem(),
            s.ecdsa_public_key_pem(),
        )
    };
    assert_eq!(pair(&a), pair(&b));
    let (ca, cc) = (pair(&a), pair(&c));
    assert!(ca.0 != cc.0 && ca.1 != cc.1 && ca.2 != cc.2);
    assert!(ca.1.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let rsa = RsaPublicKey::from_public_key_pem(&ca.1).unwrap();
    assert_eq!(rsa::traits::PublicKeyParts::size(&rsa), 256, "RSA-2048");
}

fn b64url_decode(s: &str) -> Vec<u8> {
    URL_SAFE
        .decode(s)
        .or_else(|_| URL_SAFE_NO_PAD.decode(s))
        .unwrap()
}

/// Checks a key of `scheme` the way a client would, and returns its decoded seed.
fn open_key(k: &Keys, scheme: &str, key: &str) -> Vec<u8> {
    let alg = match scheme {
        "ED25519_SIGN" => "ed25519",
        "ECDSA_P256_SIGN" => "ecdsa-p256",
        "RSA_2048_PKCS1_PSS_SIGN_V2" | "RSA_2048_PKCS1_PSS_SIGN" => "rsa-pss-sha256",
        _ => "rsa-sha256",
    };
    match scheme {
        "RSA_2048_PKCS1_ENCRYPT" => {
            // OpenSSL public_decrypt: s^e mod n, then PKCS#1 type 1 padding 00 01 FF.. 00.
            use rsa::hazmat::rsa_encrypt;
            use rsa::BigUint;
            let s = BigUint::from_bytes_be(&b64url_decode(key));
            let m = rsa_encrypt(&k.rsa, &s).unwrap().to_bytes_be();
            let mut block = vec![0u8; 256 - m.len()];
            block.extend(m);
            assert_eq!(&block[..2], &[0, 1]);
            let end = block[2..].iter().position(|b| *b != 0xff).unwrap() + 2;
            assert_eq!(block[end], 0);
            block[end + 1..].to_vec()
        }
        "RSA_2048_JWT_RS256" => {
            let parts: Vec<&str> = key.split('.').collect();
            assert_eq!(b64url_decode(parts[0]), br#"{"alg":"RS256"}"#);
            let signing = format!("{}.{}", parts[0], parts[1]);
            assert!(verifies(
                k,
                alg,
                signing.as_bytes(),
                &b64url_decode(parts[2])
            ));
            b64url_decode(parts[1])
        }
        "RSA_2048_PKCS1_PSS_SIGN" | "RSA_2048_PKCS1_SIGN" => {
            let (payload, sig) = key.split_once('.').unwrap();
            assert!(!key.starts_with("key/"));
            let seed = b64url_decode(payload);
            assert!(verifies(k, alg, &seed, &b64url_decode(sig)), "{scheme}");
            seed
        }
        _ => {
            let (signing, sig) = key.split_once('.').unwrap();
            let payload = signing.strip_prefix("key/").unwrap();
            assert!(payload.ends_with('=') || payload.len() % 4 == 0, "padded");
            assert!(
                verifies(k, alg, signing.as_bytes(), &b64url_decode(sig)),
                "{scheme}"
            );
            b64url_decode(payload)
        }
    }
}

const SCHEMES: [&str; 8] = [
    "ED25519_SIGN",
    "ECDSA_P256_SIGN",
    "RSA_2048_PKCS1_PSS_SIGN_V2",
    "RSA_2048_PKCS1_SIGN_V2",
    "RSA_2048_PKCS1_PSS_SIGN",
    "RSA_2048_PKCS1_SIGN",
    "RSA_2048_PKCS1_ENCRYPT",
    "RSA_2048_JWT_RS256",
];

/// keygen-api `app/models/license.rb` (`default_seed_key`, `crypt_key`, `generate_*_key!`):
/// a policy's scheme makes its licenses' keys: v2 schemes sign `key/<b64url(seed)>`, v1 sign
/// the raw seed, ENCRYPT is `private_encrypt` (at most 245 bytes), JWT is RS256; the seed is
/// the scheme's default dataset or the given key with `{{…}}` variables filled in.
#[test]
fn a_policy_scheme_makes_keys_in_that_scheme() {
    let env = env();
    let k = keys(&env.server);
    let product = env.product();
    for scheme in SCHEMES {
        let policy = env.admin.create_policy(
            &product,
            json!({ "scheme": scheme, "duration": 86_400 * 30 }),
        );
        let r = env.call(
            "POST",
            "/v1/licenses",
            Auth::Admin,
            Some(json!({ "data": { "type": "licenses",
                "relationships": { "policy": { "data": { "type": "policies", "id": policy } } } } })),
        );
        assert_eq!(r.status, 201, "{scheme}: {}", r.json);
        assert_eq!(r.attr("scheme"), scheme);
        let key = r.attr("key").as_str().unwrap();
        let seed: Value = serde_json::from_slice(&open_key(&k, scheme, key)).unwrap();
        let (id, created, expiry) = (r.id(), r.attr("created"), r.attr("expiry"));
        match scheme {
            "RSA_2048_PKCS1_ENCRYPT" => assert_eq!(
                seed,
                json!({ "id": id, "created": created, "duration": 86_400 * 30, "expiry": expiry })
            ),
            "RSA_2048_JWT_RS256" => {
                assert_eq!(
                    (&seed["iss"], &seed["aud"], &seed["sub"]),
                    (
                        &json!("https://keygen.sh"),
                        &json!(env.account()),
                        &json!(id)
                    )
                );
                assert!(seed["iat"].is_i64() && seed["exp"].as_i64() > seed["iat"].as_i64());
            }
            _ => {
                assert_eq!(
                    seed["license"],
                    json!({ "id": id, "created": created, "expiry": expiry })
                );
                assert_eq!(
                    seed["policy"],
                    json!({ "id": policy, "duration": 86_400 * 30 })
                );
                assert_eq!(seed["account"]["id"], json!(env.account()));
            }
        }
        // The key works online like any other.
        let (valid, code, _) = env.validate(
            &Lic {
                id: id.clone(),
                key: key.into(),
                policy: policy.clone(),
                product: product.clone(),
            },
            json!({}),
        );
        assert!(valid && code == "VALID", "{scheme}: {code}");
    }
    // A given key is templated, then signed.
    let policy = env
        .admin
        .create_policy(&product, json!({ "scheme": "ECDSA_P256_SIGN" }));
    let (id, key) = env
        .admin
        .create_license(&policy, json!({ "key": "{{id}}|{{Policy}}|{{nope}}" }));
    assert_eq!(
        open_key(&k, "ECDSA_P256_SIGN", &key),
        format!("{id}|{policy}|").into_bytes()
    );
    // RSA_MAX_BYTE_SIZE, JWT claims and unknown schemes.
    let make = |scheme: &str, key: &str| {
        let policy = env
            .admin
            .create_policy(&product, json!({ "scheme": scheme }));
        env.call(
            "POST",
            "/v1/licenses",
            Auth::Admin,
            Some(json!({ "data": { "type": "licenses",
            "attributes": { "key": key },
            "relationships": { "policy": { "data": { "type": "policies", "id": policy } } } } })),
        )
    };
    let r = make("RSA_2048_PKCS1_ENCRYPT", &"x".repeat(246));
    assert_eq!(
        (r.status, r.code(), r.pointer()),
        (422, "KEY_BYTE_SIZE_EXCEEDED", "/data/attributes/key")
    );
    let r = make("RSA_2048_JWT_RS256", "not json");
    assert_eq!((r.status, r.code()), (422, "KEY_JWT_CLAIMS_INVALID"));
    let r = env.call(
        "POST",
        "/v1/policies",
        Auth::Admin,
        Some(json!({ "data": { "type": "policies",
        "attributes": { "scheme": "LEGACY_ENCRYPT" },
        "relationships": { "product": { "data": { "type": "products", "id": product } } } } })),
    );
    assert_eq!(
        (r.status, r.code(), r.detail()),
        (422, "SCHEME_NOT_ALLOWED", "unsupported signing scheme")
    );
}

/// Opens a certificate (§5.2–5.4): verifies its signature with its `alg`'s key, then decodes
/// or decrypts the dataset.
fn open_file(k: &Keys, kind: &str, cert: &str, secret: &str) -> (String, Value) {
    let upper = kind.to_uppercase();
    let body: String = cert
        .trim_start_matches(&format!("-----BEGIN {upper} FILE-----\n"))
        .trim_end_matches(&format!("-----END {upper} FILE-----\n"))
        .split_whitespace()
        .collect();
    let doc: Value = serde_json::from_slice(&STANDARD.decode(body).unwrap()).unwrap();
    let (enc, alg) = (doc["enc"].as_str().unwrap(), doc["alg"].as_str().unwrap());
    let (enc_alg, sig_alg) = alg.split_once('+').unwrap();
    let sig = STANDARD.decode(doc["sig"].as_str().unwrap()).unwrap();
    assert!(
        verifies(k, sig_alg, format!("{kind}/{enc}").as_bytes(), &sig),
        "{alg}"
    );
    let plain = match enc_alg {
        "base64" => STANDARD.decode(enc).unwrap(),
        _ => {
            use aes_gcm::aead::{Aead, KeyInit};
            let parts: Vec<Vec<u8>> = enc
                .split('.')
                .map(|p| STANDARD.decode(p).unwrap())
                .collect();
            let cipher = aes_gcm::Aes256Gcm::new_from_slice(&Sha256::digest(secret)).unwrap();
            let mut sealed = parts[0].clone();
            sealed.extend(&parts[2]);
            cipher
                .decrypt(aes_gcm::Nonce::from_slice(&parts[1]), sealed.as_slice())
                .expect("decrypts")
        }
    };
    (alg.to_string(), serde_json::from_slice(&plain).unwrap())
}

/// keygen-api `app/services/abstract_checkout_service.rb` and `{license,machine}_checkout_
/// service.rb`, `features/api/v1/{licenses,machines}/actions/checkouts.feature`: `algorithm`
/// picks encoding and signature (invalid ones are CHECKOUT_ALGORITHM_INVALID); without it the
/// signature follows the license's scheme (ed25519 when it has none).
#[test]
fn check_out_honours_algorithm_and_defaults_to_the_scheme() {
    let env = env();
    let k = keys(&env.server);
    let lic = env.license(json!({ "floating": true, "maxMachines": 5 }));
    let m = env.activate(&lic, "fp-files").id();
    for enc in ["base64", "aes-256-gcm"] {
        for sig in ALGS {
            let alg = format!("{enc}+{sig}");
            let r = env.call(
                "POST",
                &format!("/v1/licenses/{}/actions/check-out", lic.id),
                Auth::Admin,
                Some(json!({ "meta": { "algorithm": alg } })),
            );
            assert_eq!(r.status, 200, "{alg}: {}", r.json);
            assert_eq!(r.attr("algorithm"), alg.as_str());
            let (got, data) = open_file(
                &k,
                "license",
                r.attr("certificate").as_str().unwrap(),
                &lic.key,
            );
            assert_eq!(
                (got.as_str(), &data["data"]["id"]),
                (alg.as_str(), &json!(lic.id))
            );
            let r = env.call(
                "GET",
                &format!(
                    "/v1/machines/{m}/actions/check-out?algorithm={}",
                    alg.replace('+', "%2B")
                ),
                Auth::Admin,
                None,
            );
            let cert = String::from_utf8(r.raw.clone()).unwrap();
            let (got, data) = open_file(&k, "machine", &cert, &format!("{}fp-files", lic.key));
            assert_eq!(
                (got.as_str(), &data["data"]["id"]),
                (alg.as_str(), &json!(m))
            );
        }
    }
    for (alg, detail) in [
        ("foo+ed25519", "invalid encoding algorithm"),
        ("base64+foo", "invalid signing algorithm"),
        ("base64", "invalid signing algorithm"),
        ("aes-256-gcm+ED25519", "invalid signing algorithm"),
    ] {
        let r = env.call(
            "POST",
            &format!("/v1/licenses/{}/actions/check-out", lic.id),
            Auth::Admin,
            Some(json!({ "meta": { "algorithm": alg } })),
        );
        assert_eq!(
            (
                r.status,
                r.code(),
                r.detail(),
                r.json["errors"][0]["source"]["parameter"].as_str()
            ),
            (400, "CHECKOUT_ALGORITHM_INVALID", detail, Some("algorithm")),
            "{alg}"
        );
    }
    let product = env.product();
    for (scheme, sig) in [
        (None, "ed25519"),
        (Some("ED25519_SIGN"), "ed25519"),
        (Some("ECDSA_P256_SIGN"), "ecdsa-p256"),
        (Some("RSA_2048_PKCS1_PSS_SIGN_V2"), "rsa-pss-sha256"),
        (Some("RSA_2048_PKCS1_PSS_SIGN"), "rsa-pss-sha256"),
        (Some("RSA_2048_PKCS1_SIGN_V2"), "rsa-sha256"),
        (Some("RSA_2048_PKCS1_SIGN"), "rsa-sha256"),
        (Some("RSA_2048_PKCS1_ENCRYPT"), "rsa-sha256"),
        (Some("RSA_2048_JWT_RS256"), "rsa-sha256"),
    ] {
        let policy = env
            .admin
            .create_policy(&product, json!({ "scheme": scheme }));
        let (id, key) = env.admin.create_license(&policy, json!({}));
        let r = env.call(
            "POST",
            &format!("/v1/licenses/{id}/actions/check-out?encrypt=1"),
            Auth::Admin,
            None,
        );
        let want = format!("aes-256-gcm+{sig}");
        assert_eq!(r.attr("algorithm"), want.as_str(), "{scheme:?}");
        open_file(&k, "license", r.attr("certificate").as_str().unwrap(), &key);
    }
}

/// A: `features/api/v1/machines/actions/checkouts.feature` ("with entitlement includes",
/// "a policy include", "a product include"): a `license.*` include puts the license itself in
/// `included` too, once.
#[test]
fn machine_file_license_includes_carry_the_license() {
    let env = env();
    let lic = env.license(json!({}));
    let (_, ent) = env
        .admin
        .request(
            "POST",
            "/v1/entitlements",
            Some(&json!({ "data": {
        "type": "entitlements", "attributes": { "name": "F", "code": "F" } } })),
        )
        .unwrap();
    env.admin
        .request(
            "POST",
            &format!("/v1/licenses/{}/entitlements", lic.id),
            Some(&json!({
        "data": [{ "type": "entitlements", "id": ent["data"]["id"] }] })),
        )
        .unwrap();
    let m = env.activate(&lic, "fp-a").id();
    let k = keys(&env.server);
    for (include, types) in [
        ("license.entitlements", vec!["licenses", "entitlements"]),
        ("license.product", vec!["licenses", "products"]),
        ("license.policy", vec!["licenses", "policies"]),
        ("license", vec!["licenses"]),
        (
            "license,license.entitlements,license.policy",
            vec!["licenses", "entitlements", "policies"],
        ),
    ] {
        let r = env.call(
            "POST",
            &format!("/v1/machines/{m}/actions/check-out?include={include}"),
            Auth::Admin,
            None,
        );
        let (_, data) = open_file(&k, "machine", r.attr("certificate").as_str().unwrap(), "");
        let mut got: Vec<&str> = data["included"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["type"].as_str().unwrap())
            .collect();
        got.sort();
        let mut want = types.clone();
        want.sort();
        assert_eq!(got, want, "{include}");
        let license = data["included"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "licenses")
            .unwrap();
        assert_eq!(license["id"], json!(lic.id));
        assert_eq!(license["attributes"]["key"], json!(lic.key));
    }
    // No includes: no `included` at all (the feature's "empty includes").
    let r = env.call(
        "POST",
        &format!("/v1/machines/{m}/actions/check-out?include="),
        Auth::Admin,
        None,
    );
    let (_, data) = open_file(&k, "machine", r.attr("certificate").as_str().unwrap(), "");
    assert!(data.get("included").is_none());
}

/// B: `app/controllers/concerns/signature_headers.rb` signs `host: request.host`, which Rails
/// gives without the port. `sign_host_with_port` (`--sign-host-with-port`) opts into host:port.
#[test]
fn responses_are_signed_over_the_host_without_its_port() {
    let env = env();
    let k = keys(&env.server);
    let lic = env.license(json!({ "authenticationStrategy": "LICENSE" }));
    let r = env.send("GET", "/v1/me", Auth::License(&lic.key), None, &[]);
    assert!(response_verifies(
        &k,
        &r,
        "GET",
        "/v1/me",
        "127.0.0.1",
        "ed25519"
    ));
    assert!(!response_verifies(
        &k, &r, "GET", "/v1/me", &env.addr, "ed25519"
    ));
    let with_port = env_with(Options {
        sign_host_with_port: true,
        ..Options::default()
    });
    let k = keys(&with_port.server);
    let lic = with_port.license(json!({ "authenticationStrategy": "LICENSE" }));
    let r = with_port.send("GET", "/v1/me", Auth::License(&lic.key), None, &[]);
    assert!(response_verifies(
        &k,
        &r,
        "GET",
        "/v1/me",
        &with_port.addr,
        "ed25519"
    ));
    assert!(!response_verifies(
        &k,
        &r,
        "GET",
        "/v1/me",
        "127.0.0.1",
        "ed25519"
    ));
}

/// C: `config/initializers/request_migrations.rb` and `app/migrations/`: every version from
/// 1.0 to 1.8 is served, each with the shapes its migrations give (the header names the
/// version); files are migrated too (`lib/keygen/jsonapi/renderer.rb#migrate!`).
#[test]
fn every_api_version_gets_its_response_shapes() {
    let env = env();
    let v = |version: &'static str| [("Keygen-Version", version)];
    let policy_body = |attrs: Value| {
        json!({ "data": { "type": "policies", "attributes": attrs,
        "relationships": { "product": { "data": { "type": "products", "id": env.product() } } } } })
    };
    for version in [
        "1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8",
    ] {
        let r = env.send(
            "POST",
            "/v1/policies",
            Auth::Admin,
            Some(&policy_body(json!({
            "name": "p", "strict": true, "requireHeartbeat": true, "heartbeatDuration": 600,
            "metadata": { "outerKey": { "innerKey": 1 } } }))),
            &v(version),
        );
        assert_eq!(r.status, 201, "{version}: {}", r.json);
        assert_eq!(r.header("keygen-version"), Some(version));
        let old = |than: &str| version <= than;
        let a = &r.json["data"]["attributes"];
        // rename_process_leasing_strategy_to_leasing_strategy_for_policy (1.6)
        assert_eq!(a.get("leasingStrategy").is_some(), old("1.6"), "{version}");
        assert_eq!(a.get("processLeasingStrategy").is_some(), !old("1.6"));
        // rename_machine_*_strategy_to_fingerprint_*_strategy_for_policy (1.3)
        assert_eq!(a.get("fingerprintMatchingStrategy").is_some(), old("1.3"));
        assert_eq!(a.get("machineUniquenessStrategy").is_some(), !old("1.3"));
        // add_concurrent_attribute_to_policy (1.1): policy.rb's 1.0/1.1 default overage.
        assert_eq!(a.get("concurrent").is_some(), old("1.1"));
        if old("1.1") {
            assert_eq!(a["concurrent"], json!(true));
        }
        // update_nested_key_casing_to_snakecase_for_metadata (1.4): nested keys only.
        let nested = if old("1.4") { "inner_key" } else { "innerKey" };
        assert_eq!(a["metadata"]["outerKey"][nested], json!(1), "{version}");
        // rename_keygen_id_headers_for_responses (1.3)
        assert_eq!(r.header("keygen-account-id").is_some(), old("1.3"));
        assert_eq!(r.header("keygen-account").is_some(), !old("1.3"));

        let policy = r.id();
        let (license, key) = env.admin.create_license(&policy, json!({}));
        let r = env.send(
            "POST",
            "/v1/machines",
            Auth::Admin,
            Some(&json!({ "data": {
            "type": "machines", "attributes": { "fingerprint": "fp" },
            "relationships": { "license": { "data": { "type": "licenses", "id": license } } } } })),
            &v(version),
        );
        assert_eq!(r.status, 201);
        // change_alive_status_to_not_started_for_machine (1.2); policy.rb's basis for 1.0–1.2.
        let status = if old("1.2") { "NOT_STARTED" } else { "ALIVE" };
        assert_eq!(r.attr("heartbeatStatus"), status, "{version}");
        // add_user_relationship_to_machine (1.5)
        let rels = &r.json["data"]["relationships"];
        assert_eq!(
            (rels.get("user").is_some(), rels.get("owner").is_some()),
            (old("1.5"), !old("1.5"))
        );

        let r = env.send(
            "POST",
            "/v1/licenses/actions/validate-key",
            Auth::None,
            Some(&json!({
            "meta": { "key": key, "scope": { "fingerprint": "nope" } } })),
            &v(version),
        );
        let meta = &r.json["meta"];
        // rename_code_to_constant_for_validation (1.1)
        let code_key = if old("1.1") { "constant" } else { "code" };
        assert_eq!(
            meta[code_key],
            json!("FINGERPRINT_SCOPE_MISMATCH"),
            "{version}"
        );
        // rename_owner_relationship_to_user_for_license (1.5)
        let rels = &r.json["data"]["relationships"];
        assert_eq!(rels.get("user").is_some(), old("1.5"));
    }
    // adjust_validity_for_validation_codes (1.1): a valid overage is not valid for 1.1.
    let lic = env.license(json!({ "strict": true, "floating": true, "maxMachines": 2,
        "overageStrategy": "ALWAYS_ALLOW_OVERAGE" }));
    for fp in ["a", "b", "c"] {
        env.activate(&lic, fp);
    }
    for (version, valid) in [("1.2", true), ("1.1", false)] {
        let r = env.send(
            "POST",
            &format!("/v1/licenses/{}/actions/validate", lic.id),
            Auth::Admin,
            None,
            &v(version),
        );
        assert_eq!(
            (&r.json["meta"]["valid"], version),
            (&json!(valid), version)
        );
    }
    // The request side: 1.3 names are accepted for 1.3 and unpermitted after.
    let r = env.send(
        "POST",
        "/v1/policies",
        Auth::Admin,
        Some(&policy_body(
            json!({ "fingerprintMatchingStrategy": "MATCH_ALL" }),
        )),
        &v("1.3"),
    );
    assert_eq!(
        (r.status, r.attr("fingerprintMatchingStrategy")),
        (201, &json!("MATCH_ALL"))
    );
    let r = env.send(
        "POST",
        "/v1/policies",
        Auth::Admin,
        Some(&policy_body(
            json!({ "fingerprintMatchingStrategy": "MATCH_ALL" }),
        )),
        &v("1.7"),
    );
    assert_eq!((r.status, r.detail()), (400, "unpermitted parameter"));
    // A machine file for 1.5 carries the migrated dataset.
    let m = env.activate(&lic, "d").id();
    let r = env.send(
        "POST",
        &format!("/v1/machines/{m}/actions/check-out?include=license"),
        Auth::Admin,
        None,
        &v("1.5"),
    );
    let (_, data) = open_file(
        &keys(&env.server),
        "machine",
        r.attr("certificate").as_str().unwrap(),
        "",
    );
    assert!(data["data"]["relationships"].get("user").is_some());
    assert!(data["included"][0]["relationships"].get("user").is_some());
    // Unknown versions: 400 INVALID_API_VERSION, before any account is resolved (unsigned).
    let r = env.send("GET", "/v1/me", Auth::Admin, None, &v("1.9"));
    assert_eq!((r.status, r.code()), (400, "INVALID_API_VERSION"));
    assert!(r.header("keygen-signature").is_none() && r.header("keygen-account").is_none());
}

/// D, one by one.
#[test]
fn keygens_smaller_behaviours() {
    let env = env();
    // application_controller.rb#render_unprocessable_entity: the heartbeat 422s of
    // machines/actions/heartbeats_controller.rb and machine_processes/actions/
    // heartbeats_controller.rb have a code and no source.
    let lic = env.license(json!({ "floating": true, "maxMachines": 3, "heartbeatDuration": 1 }));
    let m = env.activate(&lic, "fp-d").id();
    let p = env.spawn(&m, "1").id();
    env.call(
        "POST",
        &format!("/v1/machines/{m}/actions/ping"),
        Auth::Admin,
        None,
    );
    env.admin.advance_clock(5);
    let r = env.call(
        "POST",
        &format!("/v1/machines/{m}/actions/ping"),
        Auth::Admin,
        None,
    );
    assert_eq!(
        (r.status, r.code(), r.detail()),
        (422, "MACHINE_HEARTBEAT_DEAD", "is dead")
    );
    assert_eq!(r.json["errors"][0]["title"], "Unprocessable entity");
    assert!(r.json["errors"][0].get("source").is_none());
    let r = env.call(
        "POST",
        &format!("/v1/processes/{p}/actions/ping"),
        Auth::Admin,
        None,
    );
    assert_eq!((r.status, r.code()), (422, "PROCESS_HEARTBEAT_DEAD"));
    assert!(r.json["errors"][0].get("source").is_none());

    // checkouts_controller.rb's typed_query coerces ttl (`v.blank? ? nil : v.to_i`): "null"
    // is 0, which the service refuses as CHECKOUT_TTL_INVALID; blank is no expiry.
    for q in ["null", "abc", "60"] {
        let r = env.call(
            "GET",
            &format!("/v1/machines/{m}/actions/check-out?ttl={q}"),
            Auth::Admin,
            None,
        );
        assert_eq!((r.status, r.code()), (400, "CHECKOUT_TTL_INVALID"), "{q}");
        assert_eq!(r.json["errors"][0]["source"]["parameter"], "ttl");
    }
    let r = env.call(
        "POST",
        &format!("/v1/machines/{m}/actions/check-out?ttl="),
        Auth::Admin,
        None,
    );
    assert_eq!((r.status, &r.attr("ttl").clone()), (200, &Value::Null));
    let r = env.call(
        "POST",
        &format!("/v1/machines/{m}/actions/check-out"),
        Auth::Admin,
        Some(json!({ "meta": { "ttl": "7200" } })),
    );
    assert_eq!(r.attr("ttl"), 7200);

    // health_controller.rb#general_ping: 200, no body (no account, so unsigned).
    for path in [
        "/v1/ping".to_string(),
        format!("/v1/accounts/{}/ping", env.account()),
    ] {
        let r = env.send("GET", &path, Auth::None, None, &[]);
        assert_eq!((r.status, r.raw.len()), (200, 0), "{path}");
        assert!(r.header("keygen-signature").is_none());
    }

    // policy.rb#set_default_heartbeat_basis: stored at creation.
    for (require, basis) in [(true, "FROM_CREATION"), (false, "FROM_FIRST_PING")] {
        let r = env.call("POST", "/v1/policies", Auth::Admin, Some(json!({ "data": {
            "type": "policies", "attributes": { "requireHeartbeat": require },
            "relationships": { "product": { "data": { "type": "products", "id": lic.product } } } } })));
        assert_eq!(r.attr("heartbeatBasis"), basis);
    }

    // products/relationships/tokens_controller.rb and its feature: a product token (200,
    // kind product-token, its value shown once) authenticates as the product.
    let r = env.call(
        "POST",
        &format!("/v1/products/{}/tokens", lic.product),
        Auth::Admin,
        None,
    );
    assert_eq!((r.status, r.attr("kind")), (200, &json!("product-token")));
    assert_eq!(r.attr("expiry"), &Value::Null);
    let token = r.attr("token").as_str().unwrap().to_string();
    assert!(token.starts_with("prod-") && token.ends_with("v3"));
    let r = env.call("GET", "/v1/me", Auth::Bearer(&token), None);
    assert_eq!(
        (r.status, r.json["data"]["type"].as_str()),
        (200, Some("products"))
    );
    let r = env.call(
        "GET",
        &format!("/v1/licenses/{}", lic.id),
        Auth::Bearer(&token),
        None,
    );
    assert_eq!(r.status, 200);
    let other = env.license(json!({}));
    let r = env.call(
        "GET",
        &format!("/v1/licenses/{}", other.id),
        Auth::Bearer(&token),
        None,
    );
    assert_eq!(r.status, 404, "another product's license");
    let r = env.call(
        "POST",
        &format!("/v1/products/{}/tokens", lic.product),
        Auth::Admin,
        Some(json!({ "data": { "type": "tokens", "attributes": { "name": "Server Token" } } })),
    );
    assert_eq!(r.attr("name"), "Server Token");
    let r = env.call(
        "GET",
        &format!("/v1/products/{}/tokens", lic.product),
        Auth::Admin,
        None,
    );
    assert_eq!(r.json["data"].as_array().unwrap().len(), 2);
}
