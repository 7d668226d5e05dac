//! Vectors made by lic-devserver, verified by lic (issue 13 §1 tests, §2): keys of every
//! scheme, files of every algorithm and responses signed with each algorithm, through the
//! real client over HTTP (validate, activate, check-out, offline validation, the signed-key
//! check), including clients given only the RSA or only the ECDSA key (the
//! `Keygen-Accept-Signature` path end to end), and both signed host forms.

mod common;

use common::Env;
use lic::client::{Client, VALIDATE_AUTO_ACTIVATE, VALIDATE_OFFLINE_ONLY};
use lic::config::Config;
use lic::crypto::{KeySet, PublicKey};
use lic::model::{Source, ValidationCode as Code};
use lic_devserver::Options;
use serde_json::json;

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

/// The account's keys of the named kinds, in the forms the devserver prints them (Ed25519
/// as hex, RSA and ECDSA as SPKI PEM).
fn keys(env: &Env, kinds: &[&str]) -> KeySet {
    let mut set = KeySet::new();
    for kind in kinds {
        let text = match *kind {
            "ed25519" => env.server.public_key_hex(),
            "rsa" => env.server.rsa_public_key_pem(),
            _ => env.server.ecdsa_public_key_pem(),
        };
        set.add(PublicKey::parse(&text).unwrap_or_else(|e| panic!("{kind}: {e}")));
    }
    set
}

fn client(env: &Env, key: &str, fingerprint: &str, kinds: &[&str]) -> Client {
    Client::new(Config {
        public_keys: keys(env, kinds),
        ..env.config(key, fingerprint)
    })
    .expect("client")
}

/// Online, activated, cached, then offline from the cache: every answer verified.
fn full_cycle(env: &Env, key: &str, fp: &str, kinds: &[&str]) {
    let c = client(env, key, fp, kinds);
    let v = c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    assert_eq!(
        (v.code, v.source, v.verified),
        (Code::Valid, Source::Online, true),
        "{kinds:?}"
    );
    assert_eq!(
        env.cache_files(fp).len(),
        1,
        "{kinds:?}: a machine file is cached"
    );
    env.admin.set_fault(json!({ "mode": "offline" }));
    let fresh = client(env, key, fp, kinds);
    let v = fresh.validate(0);
    env.admin.clear_faults();
    let v = v.unwrap();
    assert_eq!(
        (v.code, v.source, v.verified),
        (Code::Valid, Source::CachedFile, true),
        "{kinds:?}"
    );
}

#[test]
fn every_key_scheme_the_devserver_issues_verifies_in_lic() {
    let env = Env::new();
    for (i, scheme) in SCHEMES.iter().enumerate() {
        let policy = env.policy(json!({ "strict": true, "maxMachines": 1, "scheme": scheme }));
        let (license_id, key) = env.license(&policy);
        let fp = format!("fp-scheme-{i}");
        // lic_client_check_signed_key, with all three keys and with only the one it needs.
        let needs: &[&str] = match *scheme {
            "ED25519_SIGN" => &["ed25519"],
            "ECDSA_P256_SIGN" => &["ecdsa"],
            _ => &["rsa"],
        };
        for kinds in [&["ed25519", "rsa", "ecdsa"][..], needs] {
            let v = client(&env, &key, &fp, kinds)
                .signed_key_validation(&fp)
                .unwrap();
            assert_eq!(
                (v.code, v.source),
                (Code::Valid, Source::SignedKey),
                "{scheme} {kinds:?}"
            );
            assert_eq!(
                v.license.as_ref().map(|l| l.id.as_str()),
                Some(license_id.as_str())
            );
        }
        // Without the key of its kind the check names what is missing.
        let other: &[&str] = if needs == ["ed25519"] {
            &["rsa"]
        } else {
            &["ed25519"]
        };
        let e = client(&env, &key, &fp, other)
            .signed_key_validation(&fp)
            .unwrap_err();
        assert_eq!(e.kind, lic::error::ErrorKind::NoPublicKey, "{scheme}: {e}");
        // And the key is a license like any other, online and offline.
        full_cycle(&env, &key, &fp, &["ed25519", "rsa", "ecdsa"]);
    }
}

/// A policy with an RSA scheme, and a client configured with only the RSA key: lic sends
/// `Keygen-Accept-Signature: algorithm="rsa-pss-sha256"`, checks out an RSA-PSS machine
/// file and answers from it offline. The same with only the ECDSA key.
#[test]
fn rsa_only_and_ecdsa_only_clients_end_to_end() {
    let env = Env::new();
    for (scheme, kinds, alg) in [
        ("RSA_2048_PKCS1_PSS_SIGN_V2", &["rsa"][..], "rsa-pss-sha256"),
        ("RSA_2048_PKCS1_SIGN_V2", &["rsa"][..], "rsa-pss-sha256"),
        ("ECDSA_P256_SIGN", &["ecdsa"][..], "ecdsa-p256"),
    ] {
        let policy = env.policy(json!({ "strict": true, "maxMachines": 1, "scheme": scheme }));
        let (_, key) = env.license(&policy);
        let fp = format!("fp-only-{scheme}");
        let c = client(&env, &key, &fp, kinds);
        let v = c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
        assert_eq!((v.code, v.verified), (Code::Valid, true), "{scheme}");
        let signed = v.signed.expect("an online answer keeps what was signed");
        assert!(
            signed
                .signature_header
                .contains(&format!(r#"algorithm="{alg}""#)),
            "{scheme}: {}",
            signed.signature_header
        );
        let file = std::fs::read_to_string(&env.cache_files(&fp)[0]).unwrap();
        let certificate = lic::evidence::files::parse_certificate(&file).unwrap();
        assert_eq!(
            certificate.alg.name(),
            format!("aes-256-gcm+{alg}"),
            "{scheme}"
        );
        env.admin.set_fault(json!({ "mode": "offline" }));
        let v = client(&env, &key, &fp, kinds).validate(0);
        env.admin.clear_faults();
        assert_eq!(v.unwrap().source, Source::CachedFile, "{scheme}");
    }
}

/// Machine files of all eight algorithms, checked out from the devserver by hand, load in
/// lic and answer offline.
#[test]
fn every_file_algorithm_the_devserver_issues_loads_in_lic() {
    let env = Env::new();
    let (license_id, key) = env.license(&env.node_locked());
    let fp = "fp-files";
    let c = client(&env, &key, fp, &["ed25519", "rsa", "ecdsa"]);
    c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
    let machine = c.machine(fp).unwrap().id;
    for enc in ["base64", "aes-256-gcm"] {
        for sig in ["ed25519", "rsa-pss-sha256", "rsa-sha256", "ecdsa-p256"] {
            let alg = format!("{enc}+{sig}");
            let (status, doc) = env
                .admin
                .request(
                    "POST",
                    &format!("/v1/machines/{machine}/actions/check-out"),
                    Some(&json!({ "meta": { "algorithm": alg, "include": ["license"] } })),
                )
                .unwrap();
            assert_eq!(status, 200, "{alg}: {doc}");
            let cert = doc["data"]["attributes"]["certificate"].as_str().unwrap();
            // This machine's fingerprint, a cache of its own (nothing cached yet).
            let loader = Client::new(Config {
                fingerprint: Some(fp.into()),
                public_keys: keys(&env, &["ed25519", "rsa", "ecdsa"]),
                ..env.config(&key, &format!("{fp}-{enc}-{sig}"))
            })
            .unwrap();
            loader
                .load_file(cert)
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            let v = loader.validate(VALIDATE_OFFLINE_ONLY).unwrap();
            assert_eq!(
                (v.code, v.source, v.verified),
                (Code::Valid, Source::LoadedFile, true),
                "{alg}"
            );
            assert_eq!(v.license.as_ref().unwrap().id, license_id);
        }
    }
}

/// B, from lic's side: Keygen signs the host without its port, SDKs have signed host:port;
/// lic verifies either (`protocol/signature.rs` tries both).
#[test]
fn lic_verifies_responses_signed_over_either_host_form() {
    for sign_host_with_port in [false, true] {
        let env = Env::with_options(Options {
            sign_host_with_port,
            ..Options::default()
        });
        let (_, key) = env.license(&env.node_locked());
        let v = env
            .client(&key, "fp-host")
            .validate(VALIDATE_AUTO_ACTIVATE)
            .unwrap();
        assert_eq!(
            (v.code, v.verified),
            (Code::Valid, true),
            "with port: {sign_host_with_port}"
        );
        let signed = v.signed.unwrap();
        let host_line = signed.signing_string.lines().nth(1).unwrap().to_string();
        assert_eq!(
            host_line.contains(':') && host_line.matches(':').count() == 2,
            sign_host_with_port,
            "{host_line}"
        );
    }
}

/// C, from lic's side: lic configured for any API version Keygen serves (1.0 through 1.8)
/// validates, activates and answers offline against the devserver, which answers each with
/// its shapes (1.1 names the code `constant`; lic reads both).
#[test]
fn lic_works_with_every_api_version_the_devserver_serves() {
    let env = Env::new();
    for version in [
        "1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7", "1.8",
    ] {
        let (_, key) = env.license(&env.node_locked());
        let fp = format!("fp-version-{version}");
        let c = Client::new(Config {
            api_version: version.to_string(),
            ..env.config(&key, &fp)
        })
        .unwrap();
        let v = c.validate(VALIDATE_AUTO_ACTIVATE).unwrap();
        assert_eq!(
            (v.code, v.valid, v.verified),
            (Code::Valid, true, true),
            "{version}"
        );
        let other = Client::new(Config {
            api_version: version.to_string(),
            ..env.config(&key, &format!("{fp}-other"))
        })
        .unwrap();
        let v = other.validate(0).unwrap();
        assert_eq!(v.code, Code::FingerprintScopeMismatch, "{version}");
        env.admin.set_fault(json!({ "mode": "offline" }));
        let v = c.validate(0);
        env.admin.clear_faults();
        assert_eq!(v.unwrap().source, Source::CachedFile, "{version}");
    }
}
