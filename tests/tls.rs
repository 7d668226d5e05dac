//! lic over HTTPS (issue 6): lic-devserver serves a certificate from a CA made in this test;
//! lic refuses it without that CA and accepts it with the CA bundle configured.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::TempDir;
use lic::client::{Client, VALIDATE_AUTO_ACTIVATE, VALIDATE_ONLINE_ONLY};
use lic::config::Config;
use lic::crypto::{KeySet, PublicKey};
use lic::error::ErrorKind;
use lic::model::{Source, ValidationCode as Code};
use lic_devserver::{DevServer, Options, TlsOptions};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(5);

fn ca(name: &str) -> (Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    (params.self_signed(&key).unwrap(), key)
}

/// The CA's PEM, and the devserver's certificate for localhost and 127.0.0.1 issued by it.
fn pki() -> (String, TlsOptions) {
    let (ca, ca_key) = ca("lic test CA");
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    (
        ca.pem(),
        TlsOptions {
            cert_chain_pem: cert.pem().into_bytes(),
            private_key_pem: key.serialize_pem().into_bytes(),
        },
    )
}

#[test]
fn lic_trusts_the_devserver_certificate_only_with_the_ca_bundle() {
    let (ca_pem, tls) = pki();
    let server = DevServer::start(Options {
        tls: Some(tls),
        ..Options::default()
    })
    .expect("devserver starts with TLS");
    let url = server.base_url();
    assert!(url.starts_with("https://localhost:"), "{url}");
    let admin = server.admin();
    let product = admin.create_product("TLS");
    let policy = admin.create_policy(
        &product,
        json!({ "name": "node-locked", "authenticationStrategy": "LICENSE",
                "strict": true, "floating": false, "maxMachines": 1 }),
    );
    let (license_id, key) = admin.create_license(&policy, json!({}));
    let dir = TempDir::new();
    let config = |ca_bundle: Option<PathBuf>| Config {
        account_id: Some(server.account_id()),
        base_url: url.clone(),
        license_key: Some(key.clone()),
        public_keys: KeySet::of(PublicKey::from_hex(&server.public_key_hex()).unwrap()),
        fingerprint: Some("fp-tls".into()),
        cache_dir: Some(dir.path.join("cache")),
        timeout: TIMEOUT,
        ca_bundle,
        ..Config::default()
    };

    // Without the CA: the bundled web roots do not know it.
    let client = Client::new(config(None)).expect("client");
    let started = Instant::now();
    let e = client.validate(VALIDATE_ONLINE_ONLY).unwrap_err();
    assert!(started.elapsed() < TIMEOUT, "took {:?}", started.elapsed());
    assert_eq!(e.kind, ErrorKind::Tls, "{e}");
    let text = e.message.to_lowercase();
    assert!(
        text.contains("certificate") && text.contains("not trusted") && text.contains("ca bundle"),
        "the message should say the server's certificate is not trusted: {}",
        e.message
    );

    // With a bundle that holds an unrelated CA and then ours: accepted, and every answer is
    // still signature-verified with the public key.
    let (other, _) = ca("some other CA");
    let bundle = dir.path.join("ca-bundle.pem");
    std::fs::write(&bundle, format!("{}{ca_pem}", other.pem())).unwrap();
    let client = Client::new(config(Some(bundle))).expect("client with CA bundle");
    let v = client.validate(VALIDATE_ONLINE_ONLY).unwrap();
    assert_eq!(
        (v.code, v.valid, v.source),
        (Code::NoMachine, false, Source::Online)
    );
    assert!(
        v.verified,
        "a configured public key means a verified answer"
    );
    assert_eq!(v.license.as_ref().unwrap().id, license_id);
    let v = client
        .validate(VALIDATE_AUTO_ACTIVATE | VALIDATE_ONLINE_ONLY)
        .unwrap();
    assert_eq!((v.code, v.valid), (Code::Valid, true));
    assert!(v.verified && v.machine_id.is_some());
    assert!(v.signed.is_some());
}

#[test]
fn ca_bundle_must_be_readable_pem_certificates() {
    let dir = TempDir::new();
    let config = |ca_bundle: PathBuf| Config {
        account_id: Some("00000000-0000-4000-8000-000000000000".into()),
        // Nothing listens here: Client::new checks the bundle without connecting.
        base_url: "https://localhost:1".into(),
        ca_bundle: Some(ca_bundle),
        ..Config::default()
    };
    let garbage = dir.path.join("garbage.pem");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let e = Client::new(config(garbage)).err().expect("garbage bundle");
    assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");

    let armored = dir.path.join("armored.pem");
    std::fs::write(
        &armored,
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let e = Client::new(config(armored)).err().expect("not DER inside");
    assert_eq!(e.kind, ErrorKind::InvalidArgument, "{e}");

    let e = Client::new(config(dir.path.join("missing.pem")))
        .err()
        .expect("missing bundle");
    assert_eq!(e.kind, ErrorKind::Io, "{e}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    // Refused while building the client: nothing is sent anywhere.
    let e = Client::new(Config {
        account_id: Some("00000000-0000-4000-8000-000000000000".into()),
        base_url: "http://licensing.example.com".into(),
        ..Config::default()
    })
    .err()
    .expect("plain http to a remote host");
    assert_eq!(e.kind, ErrorKind::InsecureUrl, "{e}");
}

#[test]
fn a_tls_handshake_that_never_completes_times_out() {
    // A listener that never accepts: the kernel completes the TCP handshake, and the
    // ClientHello waits in its queue unanswered.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = TempDir::new();
    let timeout = Duration::from_millis(800);
    let client = Client::new(Config {
        account_id: Some("00000000-0000-4000-8000-000000000000".into()),
        base_url: format!("https://localhost:{}", silent.local_addr().unwrap().port()),
        license_key: Some("KEY".into()),
        fingerprint: Some("fp".into()),
        cache_dir: Some(dir.path.clone()),
        timeout,
        ..Config::default()
    })
    .unwrap();
    let started = Instant::now();
    let e = client.validate(VALIDATE_ONLINE_ONLY).unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert!(
        took >= timeout && took < timeout + Duration::from_millis(1500),
        "took {took:?}"
    );
}
