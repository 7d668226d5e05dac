//! HTTPS: the same server over TLS, with a throwaway CA and certificate made here. Clients verify
//! the chain against that CA (rustls's webpki verifier), and every response signature over the
//! Host header as sent.

mod common;
use common::*;
use lic_devserver::{raw, DevServer, Options, RawResponse, TlsOptions};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

struct Pki {
    ca: CertificateDer<'static>,
    tls: TlsOptions,
}

/// A CA, and a server certificate it issued for `names` (DNS names or IP literals).
fn pki(names: &[&str]) -> Pki {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "lic-devserver test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca.self_signed(&ca_key).unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut leaf = CertificateParams::new(names).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let leaf = leaf.signed_by(&key, &ca, &ca_key).unwrap();
    Pki {
        ca: ca.der().clone(),
        tls: TlsOptions {
            cert_chain_pem: leaf.pem().into_bytes(),
            private_key_pem: key.serialize_pem().into_bytes(),
        },
    }
}

/// A client that trusts `root` only (none: nothing).
fn client_config(root: Option<&CertificateDer<'static>>) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    if let Some(r) = root {
        store.add(r.clone()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(store)
            .with_no_client_auth(),
    )
}

fn start(pki: &Pki) -> DevServer {
    DevServer::start(Options {
        tls: Some(pki.tls.clone()),
        ..Options::default()
    })
    .expect("TLS server starts")
}

fn resp(r: RawResponse) -> Resp {
    let json = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    Resp {
        status: r.status,
        headers: r.headers,
        raw: r.body,
        json,
    }
}

fn port(server: &DevServer) -> u16 {
    server
        .base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn verifying_key(server: &DevServer) -> ed25519_dalek::VerifyingKey {
    let bytes: [u8; 32] = hex(&server.public_key_hex()).try_into().unwrap();
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap()
}

/// A license (key auth) on a fresh product and policy, created through the admin client,
/// which itself talks HTTPS to this server.
fn license(server: &DevServer) -> String {
    let admin = server.admin();
    let product = admin.create_product("TLS");
    let policy = admin.create_policy(&product, json!({ "authenticationStrategy": "LICENSE" }));
    admin.create_license(&policy, json!({})).1
}

fn validate_body(key: &str) -> Vec<u8> {
    json!({ "meta": { "key": key } }).to_string().into_bytes()
}

const VALIDATE: &str = "/v1/licenses/actions/validate-key";
const JSON_API: [(&str, &str); 2] = [
    ("Content-Type", "application/vnd.api+json"),
    ("Accept", "application/vnd.api+json"),
];

#[test]
fn https_validate_key_is_signed_over_the_host_as_received() {
    let pki = pki(&["localhost", "127.0.0.1"]);
    let server = start(&pki);
    let port = port(&server);
    assert_eq!(server.base_url(), format!("https://localhost:{port}"));
    let key = license(&server);
    let config = client_config(Some(&pki.ca));
    let vk = verifying_key(&server);
    let addr = format!("127.0.0.1:{port}");
    for authority in [format!("localhost:{port}"), addr.clone()] {
        let r = resp(
            raw::send_tls(
                &addr,
                &authority,
                config.clone(),
                "POST",
                VALIDATE,
                &JSON_API,
                &validate_body(&key),
            )
            .expect("TLS request"),
        );
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(
            (&r.json["meta"]["valid"], &r.json["meta"]["code"]),
            (&json!(true), &json!("VALID"))
        );
        // Signed over the Host header without its port, as Rails' `request.host`.
        let host = authority.rsplit_once(':').unwrap().0;
        verify_signature(&vk, &r, "POST", VALIDATE, host).unwrap();
        let other = if authority.starts_with("localhost") {
            "127.0.0.1"
        } else {
            "localhost"
        };
        assert!(verify_signature(&vk, &r, "POST", VALIDATE, other).is_err());
        assert!(verify_signature(&vk, &r, "POST", VALIDATE, &authority).is_err());
    }
}

#[test]
fn keep_alive_faults_and_failed_handshakes_over_tls() {
    let pki = pki(&["localhost", "127.0.0.1"]);
    let server = start(&pki);
    let port = port(&server);
    let addr = format!("127.0.0.1:{port}");
    let authority = format!("localhost:{port}");
    let key = license(&server);
    let config = client_config(Some(&pki.ca));
    let vk = verifying_key(&server);

    // Two requests on one TLS connection.
    let conn = ClientConnection::new(config.clone(), "localhost".try_into().unwrap()).unwrap();
    let tcp = TcpStream::connect(&addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut stream = BufReader::new(StreamOwned::new(conn, tcp));
    let body = validate_body(&key);
    for _ in 0..2 {
        let mut req = format!(
            "POST {VALIDATE} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/vnd.api+json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(&body);
        stream.get_mut().write_all(&req).unwrap();
        stream.get_mut().flush().unwrap();
        let r = resp(raw::read_response(&mut stream).unwrap());
        assert_eq!(r.header("connection"), Some("keep-alive"));
        verify_signature(&vk, &r, "POST", VALIDATE, "localhost").unwrap();
    }
    drop(stream);

    let send = |config: &Arc<ClientConfig>| {
        raw::send_tls(
            &addr,
            &authority,
            config.clone(),
            "POST",
            VALIDATE,
            &JSON_API,
            &validate_body(&key),
        )
    };
    let admin = server.admin();
    admin.set_fault(json!({ "mode": "refuse", "count": 1 }));
    assert!(send(&config).is_err(), "refused");
    admin.set_fault(json!({ "mode": "drop", "count": 1 }));
    assert!(send(&config).is_err(), "a truncated body is an error");
    admin.set_fault(json!({ "mode": "tamper", "count": 1 }));
    let r = resp(send(&config).unwrap());
    assert!(verify_signature(&vk, &r, "POST", VALIDATE, "localhost")
        .unwrap_err()
        .contains("digest"));

    // A client that does not trust the CA fails the handshake; so does one speaking plain
    // HTTP to the TLS port, and one that goes silent. The server serves on.
    let e = send(&client_config(None))
        .err()
        .expect("an unknown CA is refused");
    let text = format!("{e:?}");
    assert!(text.contains("UnknownIssuer"), "{text}");
    let mut plain = TcpStream::connect(&addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    plain
        .write_all(b"GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(
        !answer.starts_with(b"HTTP/"),
        "no plain HTTP on the TLS port"
    );
    let silent = TcpStream::connect(&addr).unwrap();
    let r = resp(send(&config).unwrap());
    assert_eq!(r.status, 200);
    verify_signature(&vk, &r, "POST", VALIDATE, "localhost").unwrap();
    drop(silent);
}

#[test]
fn base_url_names_a_host_the_certificate_is_valid_for() {
    let ip_only = pki(&["127.0.0.1"]);
    let server = start(&ip_only);
    assert_eq!(
        server.base_url(),
        format!("https://127.0.0.1:{}", port(&server))
    );
    let key = license(&server);
    let authority = format!("127.0.0.1:{}", port(&server));
    let r = raw::send_tls(
        &authority,
        &authority,
        client_config(Some(&ip_only.ca)),
        "POST",
        VALIDATE,
        &JSON_API,
        &validate_body(&key),
    )
    .unwrap();
    assert_eq!(r.status, 200);
    drop(server);

    let elsewhere = pki(&["licensing.example.com"]);
    let e = DevServer::start(Options {
        tls: Some(elsewhere.tls.clone()),
        ..Options::default()
    })
    .err()
    .expect("a certificate for no local name is refused");
    assert!(e.to_string().contains("valid for none of"), "{e}");

    let garbage = TlsOptions {
        cert_chain_pem: b"not a certificate".to_vec(),
        private_key_pem: ip_only.tls.private_key_pem.clone(),
    };
    let e = DevServer::start(Options {
        tls: Some(garbage),
        ..Options::default()
    })
    .err()
    .expect("no certificate");
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    let mismatched = TlsOptions {
        cert_chain_pem: ip_only.tls.cert_chain_pem.clone(),
        private_key_pem: elsewhere.tls.private_key_pem.clone(),
    };
    assert!(DevServer::start(Options {
        tls: Some(mismatched),
        ..Options::default()
    })
    .is_err());
}

#[test]
fn binary_serves_https_with_tls_flags() {
    let pki = pki(&["localhost", "127.0.0.1"]);
    let dir = std::env::temp_dir().join(format!("lic-devserver-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, &pki.tls.cert_chain_pem).unwrap();
    std::fs::write(&key, &pki.tls.private_key_pem).unwrap();
    let exe = env!("CARGO_BIN_EXE_lic-devserver");

    let lone = std::process::Command::new(exe)
        .arg("--tls-cert")
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(lone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&lone.stderr).contains("go together"));

    /// Kills the server it started, even when an assertion fails first.
    struct Child(std::process::Child);
    impl Drop for Child {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Child(
        std::process::Command::new(exe)
            .args(["--bootstrap", "--tls-cert"])
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    let url = info["base_url"].as_str().unwrap().to_string();
    let authority = url
        .strip_prefix("https://localhost:")
        .map(|p| format!("localhost:{p}"))
        .unwrap_or_else(|| panic!("{url}"));
    let key = info["license_key"].as_str().unwrap();
    let addr = authority.replace("localhost", "127.0.0.1");
    let r = raw::send_tls(
        &addr,
        &authority,
        client_config(Some(&pki.ca)),
        "POST",
        VALIDATE,
        &JSON_API,
        &json!({ "meta": { "key": key, "scope": { "fingerprint": "x" } } })
            .to_string()
            .into_bytes(),
    );
    drop(child);
    let _ = std::fs::remove_dir_all(&dir);
    let r = resp(r.unwrap());
    assert_eq!(r.status, 200, "{}", r.json);
    let bytes: [u8; 32] = hex(info["public_key"].as_str().unwrap())
        .try_into()
        .unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap();
    verify_signature(&vk, &r, "POST", VALIDATE, "localhost").unwrap();
}
