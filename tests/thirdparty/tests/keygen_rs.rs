//! keygen-rs 0.14 (crates.io, nobody here wrote it) against lic-devserver, unmodified: its own
//! validation, activation, file verification and decryption, and response-signature checks
//! (issue 13 §3). keygen-rs verifies every response it gets (`client.rs`
//! `verify_response_signature`) over `host:port`, so the devserver runs with
//! `--sign-host-with-port`; without it (Keygen's own port-less host) keygen-rs refuses.
//!
//! The devserver is the binary `LIC_DEVSERVER` (run.sh builds it), started with `--bootstrap`;
//! its first stdout line is JSON. Set-up the SDK cannot do without a token (an entitlement)
//! goes through the admin API with a few lines of plain HTTP.

use keygen_rs::config::KeygenConfig;
use keygen_rs::license::{
    License, LicenseCheckoutOpts, LicenseFileAlgorithm, LicenseValidationRequest,
};
use keygen_rs::machine::MachineCheckoutOpts;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    info: Value,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let exe = std::env::var("LIC_DEVSERVER").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/debug/lic-devserver").into()
        });
        let mut child = Command::new(&exe)
            .arg("--bootstrap")
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{exe}: {e} (run tests/thirdparty/run.sh)"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info = serde_json::from_str(&line).expect("the first stdout line is JSON");
        Server { child, info }
    }

    fn s(&self, k: &str) -> String {
        self.info[k].as_str().unwrap_or_default().to_string()
    }

    /// keygen-rs's configuration for the bootstrap license: license-key auth, the product
    /// scope, the Ed25519 public key (so every response is verified), API version 1.7.
    fn config(&self) -> KeygenConfig {
        KeygenConfig {
            api_url: self.s("base_url"),
            account: self.s("account_id"),
            product: self.s("product_id"),
            license_key: Some(self.s("license_key")),
            public_key: Some(self.s("public_key")),
            verify_keygen_signature: Some(true),
            ..KeygenConfig::default()
        }
    }

    /// One admin request over plain HTTP/1.1 (the SDK's management calls need its `token`
    /// feature and another HTTP stack; this is four headers).
    fn admin(&self, method: &str, path: &str, body: Value) -> Value {
        let addr = self.s("base_url").trim_start_matches("http://").to_string();
        let body = body.to_string();
        let mut s = TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/vnd.api+json\r\nAccept: application/vnd.api+json\r\n\
             Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
            self.s("admin_token"),
            body.len()
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 2"), "{method} {path}: {head}\n{body}");
        serde_json::from_str(body).unwrap_or(Value::Null)
    }
}

fn validate(config: &KeygenConfig, fingerprint: &str) -> (bool, String) {
    let rt = runtime();
    let req = LicenseValidationRequest::for_fingerprint(fingerprint.to_string());
    let result = rt
        .block_on(keygen_rs::validate_with_config(config.clone(), &req))
        .expect("keygen-rs accepts the signed answer");
    (result.meta.valid, result.meta.code)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn keygen_rs_validates_activates_checks_out_and_deactivates() {
    let server = Server::start(&["--sign-host-with-port"]);
    let config = server.config();
    // The machine and license files are verified with the global configuration.
    keygen_rs::config::set_config(config.clone()).unwrap();
    let ent = server.admin(
        "POST",
        "/v1/entitlements",
        json!({ "data": { "type": "entitlements", "attributes": { "name": "Pro", "code": "PRO" } } }),
    );
    server.admin(
        "POST",
        &format!("/v1/licenses/{}/entitlements", server.s("license_id")),
        json!({ "data": [{ "type": "entitlements", "id": ent["data"]["id"] }] }),
    );

    // Validate with a fingerprint scope: the node-locked license has no machine yet.
    assert_eq!(validate(&config, "fp-keygen-rs"), (false, "NO_MACHINE".into()));

    // Activate, then validate again: VALID; another fingerprint: FINGERPRINT_SCOPE_MISMATCH.
    let rt = runtime();
    let license = License::from_key(&server.s("license_key"))
        .with_config(config.clone());
    let license = rt
        .block_on(license.validate_key(&LicenseValidationRequest::for_fingerprint("x".into())))
        .unwrap()
        .license
        .expect("validate-key returns the license");
    let machine = rt
        .block_on(license.activate("fp-keygen-rs", &[]))
        .expect("keygen-rs activates");
    assert_eq!(machine.fingerprint, "fp-keygen-rs");
    assert_eq!(validate(&config, "fp-keygen-rs"), (true, "VALID".into()));
    assert_eq!(
        validate(&config, "another-machine"),
        (false, "FINGERPRINT_SCOPE_MISMATCH".into())
    );

    // A machine file with include=license.entitlements (keygen-rs's default), verified and
    // decrypted by keygen-rs: it needs the license in `included` (issue 13, A).
    let file = rt
        .block_on(machine.checkout(&MachineCheckoutOpts::with_include(vec![
            "license.entitlements".into(),
        ])))
        .expect("machine check-out");
    file.verify().expect("keygen-rs verifies the machine file");
    let secret = format!("{}fp-keygen-rs", server.s("license_key"));
    let dataset = file.decrypt(&secret).expect("keygen-rs decrypts the machine file");
    assert_eq!(dataset.machine.id, machine.id);
    assert_eq!(dataset.license.id, server.s("license_id"));
    let included = dataset.included.expect("entitlements included");
    assert_eq!(
        included.entitlements.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(),
        ["PRO"]
    );

    // A license file the same way, with Ed25519 and with the account's other keys.
    let opts = LicenseCheckoutOpts::with_include(vec!["entitlements".into()]).with_encrypt(true);
    let file = rt.block_on(license.checkout(&opts)).expect("license check-out");
    file.verify().expect("keygen-rs verifies the license file");
    let dataset = file
        .decrypt(&server.s("license_key"))
        .expect("keygen-rs decrypts the license file");
    assert_eq!(dataset.license.id, server.s("license_id"));
    for (alg, key) in [
        (LicenseFileAlgorithm::Aes256GcmRsaPssSha256, server.s("rsa_public_key")),
        (LicenseFileAlgorithm::Aes256GcmRsaSha256, server.s("rsa_public_key")),
        (LicenseFileAlgorithm::Aes256GcmEcdsaP256, server.s("ecdsa_public_key")),
    ] {
        let opts = LicenseCheckoutOpts::new().with_algorithm(alg);
        let file = rt.block_on(license.checkout(&opts)).expect("license check-out");
        let dataset = file
            .verify_and_decrypt(&key, &server.s("license_key"), alg)
            .unwrap_or_else(|e| panic!("{alg:?}: {e:?}"));
        assert_eq!(dataset.license.id, server.s("license_id"));
    }

    // Deactivate; the license is back to no machine.
    rt.block_on(machine.deactivate()).expect("keygen-rs deactivates");
    assert_eq!(validate(&config, "fp-keygen-rs"), (false, "NO_MACHINE".into()));
}

/// The signature check above is real: keygen-rs expects `host:port`, and the devserver by
/// default signs Keygen's port-less `request.host`, which keygen-rs then refuses.
#[test]
fn keygen_rs_refuses_a_signature_over_another_host() {
    let server = Server::start(&[]);
    let req = LicenseValidationRequest::for_fingerprint("fp".into());
    let err = runtime()
        .block_on(keygen_rs::validate_with_config(server.config(), &req))
        .expect_err("signed over 127.0.0.1, not 127.0.0.1:PORT");
    assert!(format!("{err:?}").contains("Signature"), "{err:?}");
}
