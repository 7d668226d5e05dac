//! lic-portal over HTTP against an in-process lic-devserver: every outcome
//! a person can meet, in plain words; the machine file it hands out
//! validates offline on the machine; the request log never holds a license
//! key; the page, its assets and headers; TLS on both sides; the binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use lic::activation::RequestOptions;
use lic::client::VALIDATE_OFFLINE_ONLY;
use lic::model::{Source, ValidationCode};
use lic_devserver::{Admin, DevServer, Options as DevOptions, TlsOptions};
use lic_portal::{LogTo, Options, Portal};
use serde_json::{json, Value};

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let mut b = [0u8; 8];
        lic::crypto::random_bytes(&mut b).unwrap();
        let p =
            std::env::temp_dir().join(format!("lic-portal-test-{}", lic::crypto::encode_hex(&b)));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Env {
    server: DevServer,
    admin: Admin,
    product: String,
    dir: TempDir,
}

impl Env {
    fn new() -> Env {
        let server = DevServer::start(DevOptions::default()).unwrap();
        let admin = server.admin();
        let product = admin.create_product("Portal Test");
        Env {
            server,
            admin,
            product,
            dir: TempDir::new(),
        }
    }

    fn policy(&self, attrs: Value) -> String {
        let mut a = json!({ "name": "policy", "authenticationStrategy": "LICENSE" });
        a.as_object_mut()
            .unwrap()
            .extend(attrs.as_object().unwrap().clone());
        self.admin.create_policy(&self.product, a)
    }

    fn node_locked(&self) -> String {
        self.policy(json!({ "strict": true, "floating": false, "maxMachines": 1 }))
    }

    fn license(&self, policy: &str, attrs: Value) -> (String, String) {
        self.admin.create_license(policy, attrs)
    }

    fn options(&self) -> Options {
        Options {
            api_url: self.server.base_url(),
            account_id: self.server.account_id(),
            public_key: self.server.public_key_hex(),
            timeout: Duration::from_secs(10),
            log: LogTo::File(self.dir.0.join("requests.log")),
            ..Options::default()
        }
    }

    fn portal(&self) -> Portal {
        Portal::start(self.options()).expect("the portal starts")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("requests.log")).unwrap_or_default()
    }

    /// The air-gapped machine: a lic client that never reaches a server.
    fn device(&self, key: &str, fingerprint: &str) -> lic::Client {
        lic::Client::new(lic::Config {
            account_id: Some(self.server.account_id()),
            base_url: "http://127.0.0.1:9".into(),
            license_key: Some(key.into()),
            public_keys: lic::crypto::KeySet::of(
                lic::crypto::PublicKey::from_hex(&self.server.public_key_hex()).unwrap(),
            ),
            fingerprint: Some(fingerprint.into()),
            cache_dir: Some(self.dir.0.join(format!("device-{fingerprint}"))),
            ..lic::Config::default()
        })
        .unwrap()
    }

    /// A client on a connected machine (to take a seat from the server's side).
    fn online(&self, key: &str, fingerprint: &str) -> lic::Client {
        lic::Client::new(lic::Config {
            account_id: Some(self.server.account_id()),
            base_url: self.server.base_url(),
            license_key: Some(key.into()),
            public_keys: lic::crypto::KeySet::of(
                lic::crypto::PublicKey::from_hex(&self.server.public_key_hex()).unwrap(),
            ),
            fingerprint: Some(fingerprint.into()),
            no_cache: true,
            ..lic::Config::default()
        })
        .unwrap()
    }
}

fn request_text(device: &lic::Client, portal: &Portal) -> String {
    device
        .activation_request(&RequestOptions {
            portal_url: Some(portal.url()),
            app_name: Some("Portal Test App".into()),
            ..RequestOptions::default()
        })
        .unwrap()
        .text()
        .to_string()
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
}

/// POST {"request": text}: (status, JSON body).
fn post(portal: &Portal, path: &str, text: &str) -> (u16, Value) {
    let url = format!("{}{}", portal.url(), path.trim_start_matches('/'));
    let res = agent()
        .post(&url)
        .set("Content-Type", "application/json")
        .send_string(&json!({ "request": text }).to_string());
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{url}: {e}"),
    };
    let status = resp.status();
    let body = resp.into_string().unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

fn outcome(v: &Value) -> &str {
    v["outcome"].as_str().unwrap_or("")
}

#[test]
fn every_outcome_in_plain_words_and_no_key_in_the_log() {
    let env = Env::new();
    let portal = env.portal();
    let mut keys = Vec::new();
    let mut texts = Vec::new();
    let mut check = |text: &str, key: &str, want: &str, body: &Value| {
        assert_eq!(outcome(body), want, "{body:#}");
        assert!(
            body["title"].as_str().is_some_and(|t| t.len() > 10),
            "{body:#}"
        );
        assert!(
            body["message"].as_str().is_some_and(|t| t.len() > 20),
            "{body:#}"
        );
        assert!(
            !body.to_string().contains(key),
            "the answer never echoes the key"
        );
        keys.push(key.to_string());
        texts.push(text.to_string());
    };

    // Activated: the machine gets a file that validates offline there.
    let (_, key) = env.license(&env.node_locked(), json!({}));
    let device = env.device(&key, "portal-fp-a");
    let text = request_text(&device, &portal);
    let (status, body) = post(&portal, "/api/activate", &text);
    assert_eq!(status, 200);
    check(&text, &key, "activated", &body);
    let file = body["file"]["text"].as_str().unwrap();
    assert!(file.starts_with("-----BEGIN MACHINE FILE-----"));
    let name = body["file"]["name"].as_str().unwrap();
    assert!(name.ends_with("-portalfp.lic"), "{name}");
    // Keygen's default TTL: a (calendar) month from now.
    let expires = body["file"]["expires"].as_str().unwrap();
    let at = lic::time::parse_rfc3339(&format!("{expires}T00:00:00Z")).unwrap();
    let days = (at - lic::time::now_ms()) / 86_400_000;
    assert!(
        (27..=31).contains(&days),
        "expires {expires}: {days} days from now"
    );
    assert_eq!(body["machine"]["fingerprint"], "portal-fp-a");
    assert_eq!(body["machine"]["app"], "Portal Test App");
    device.load_file(file).unwrap();
    let v = device.validate(VALIDATE_OFFLINE_ONLY).unwrap();
    assert_eq!(
        (v.code, v.valid, v.source),
        (ValidationCode::Valid, true, Source::LoadedFile)
    );
    // The server knows the machine by the request's host name and platform.
    let (st, m) = env
        .admin
        .request("GET", "/v1/machines/portal-fp-a", None)
        .unwrap();
    assert_eq!(st, 200, "{m}");
    assert_eq!(
        m["data"]["attributes"]["platform"],
        json!(lic::machine::platform())
    );
    assert_eq!(
        m["data"]["attributes"]["hostname"],
        json!(lic::machine::hostname())
    );

    // Already activated: a fresh file.
    let (_, body) = post(&portal, "/api/activate", &text);
    check(&text, &key, "already_activated", &body);
    assert!(body["file"]["text"]
        .as_str()
        .unwrap()
        .starts_with("-----BEGIN MACHINE FILE-----"));

    // Locked to another machine (node-locked, seat taken).
    let other = request_text(&env.device(&key, "portal-fp-b"), &portal);
    let (_, body) = post(&portal, "/api/activate", &other);
    check(&other, &key, "locked_elsewhere", &body);
    assert!(body.get("file").is_none());
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("deactivate it on the other machine"));

    // Machine limit: a floating license with its one seat taken.
    let floating = env.policy(json!({ "strict": true, "floating": true, "maxMachines": 1 }));
    let (_, fkey) = env.license(&floating, json!({}));
    env.online(&fkey, "portal-fp-c").activate().unwrap();
    let text = request_text(&env.device(&fkey, "portal-fp-d"), &portal);
    let (_, body) = post(&portal, "/api/activate", &text);
    check(&text, &fkey, "machine_limit", &body);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("allows one machine"),
        "{body:#}"
    );

    // Suspended.
    let (id, skey) = env.license(&env.node_locked(), json!({}));
    env.admin.suspend_license(&id);
    let text = request_text(&env.device(&skey, "portal-fp-e"), &portal);
    let (_, body) = post(&portal, "/api/activate", &text);
    check(&text, &skey, "suspended", &body);

    // Expired (REVOKE_ACCESS: the key itself stops working).
    let revoke = env.policy(json!({ "strict": true, "floating": false, "maxMachines": 1,
                                    "expirationStrategy": "REVOKE_ACCESS" }));
    let (_, ekey) = env.license(&revoke, json!({ "expiry": "2021-03-04T05:06:07Z" }));
    let text = request_text(&env.device(&ekey, "portal-fp-f"), &portal);
    let (_, body) = post(&portal, "/api/activate", &text);
    check(&text, &ekey, "expired", &body);
    assert!(
        body["message"].as_str().unwrap().contains("2021-03-04"),
        "{body:#}"
    );

    // Unknown key.
    let ukey = "NOPE-0000-0000-0000-UNKNOWN";
    let text = request_text(&env.device(ukey, "portal-fp-g"), &portal);
    let (_, body) = post(&portal, "/api/activate", &text);
    check(&text, ukey, "unknown_key", &body);

    // The policy does not allow license-key authentication: said plainly.
    let token_only = env.policy(json!({ "strict": true, "floating": false, "maxMachines": 1,
                                        "authenticationStrategy": "TOKEN" }));
    let (_, tkey) = env.license(&token_only, json!({}));
    let text = request_text(&env.device(&tkey, "portal-fp-h"), &portal);
    let (_, body) = post(&portal, "/api/activate", &text);
    check(&text, &tkey, "not_allowed", &body);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("LICENSE or MIXED"),
        "{body:#}"
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("LICENSE_NOT_ALLOWED"),
        "{body:#}"
    );

    // Not a request at all, and a cut one.
    let (status, body) = post(&portal, "/api/activate", "hello");
    assert_eq!((status, outcome(&body)), (200, "invalid_request"));
    let cut = &texts[0][..texts[0].len() - 10];
    let (status, body) = post(&portal, "/api/inspect", cut);
    assert_eq!((status, outcome(&body)), (422, "invalid_request"));
    assert!(!body.to_string().contains(&keys[0]));

    // The server cannot be reached.
    let down = Portal::start(Options {
        api_url: "http://127.0.0.1:9".into(),
        timeout: Duration::from_secs(2),
        ..env.options()
    })
    .unwrap();
    let (_, body) = post(
        &down,
        "/api/activate",
        &request_text(&env.device(&key, "portal-fp-i"), &down),
    );
    assert_eq!(outcome(&body), "unavailable", "{body:#}");
    drop(down);
    drop(portal);

    // The request log: a line per request with its outcome, and no key,
    // request text or machine file anywhere in it.
    let log = env.log();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for want in [
        "activated",
        "already_activated",
        "locked_elsewhere",
        "machine_limit",
        "suspended",
        "expired",
        "unknown_key",
        "not_allowed",
        "invalid_request",
        "unavailable",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l["outcome"] == want && l["path"] == "/api/activate"),
            "no log line for {want}:\n{log}"
        );
    }
    for key in &keys {
        assert!(
            !log.contains(key.as_str()),
            "a license key is in the log:\n{log}"
        );
    }
    for text in &texts {
        let token = text.rsplit('#').next().unwrap();
        assert!(!log.contains(&token[5..25]), "a request text is in the log");
    }
    assert!(
        !log.contains("lic1.") && !log.contains("MACHINE FILE"),
        "{log}"
    );
}

#[test]
fn inspect_says_what_the_request_is_about_and_activates_nothing() {
    let env = Env::new();
    let portal = env.portal();
    let (lic_id, key) = env.license(&env.node_locked(), json!({}));
    let device = env.device(&key, "portal-inspect-0123456789abcdef");
    let text = request_text(&device, &portal);
    let (status, body) = post(&portal, "/api/inspect", &text);
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["fingerprint"], "portal-inspect-0123456789abcdef");
    assert_eq!(body["app"], "Portal Test App");
    assert_eq!(body["platform"], json!(lic::machine::platform()));
    assert_eq!(
        body["key_hint"],
        json!(format!("{}…{}", &key[..4], &key[key.len() - 4..]))
    );
    assert!(!body.to_string().contains(&key));
    // The bare form (pasted text) reads the same.
    let bare = text.rsplit('#').next().unwrap();
    assert_eq!(post(&portal, "/api/inspect", bare).1, body);
    let (_, machines) = env
        .admin
        .request("GET", &format!("/v1/licenses/{lic_id}/machines"), None)
        .unwrap();
    assert_eq!(
        machines["data"].as_array().unwrap().len(),
        0,
        "nothing activated"
    );
}

fn get(url: &str) -> (u16, String, ureq::Response) {
    match agent().get(url).call() {
        Ok(r) => {
            let status = r.status();
            (status, String::new(), r)
        }
        Err(ureq::Error::Status(s, r)) => (s, String::new(), r),
        Err(e) => panic!("{url}: {e}"),
    }
}

#[test]
fn the_page_its_assets_and_headers() {
    let env = Env::new();
    let portal = env.portal();
    let base = portal.url();
    let (status, _, r) = get(&base);
    assert_eq!(status, 200);
    let csp = r.header("content-security-policy").unwrap().to_string();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert!(r.content_type().starts_with("text/html"));
    let html = r.into_string().unwrap();
    for part in [
        "/static/app.js",
        "/static/style.css",
        "/static/jsqr-1.4.0/jsQR.js",
        "id=\"scan\"",
        "id=\"upload\"",
        "id=\"paste\"",
    ] {
        assert!(html.contains(part), "the page lacks {part}");
    }
    // The vendored decoder, byte for byte the npm package's file, with its license.
    let (_, _, r) = get(&format!("{base}static/jsqr-1.4.0/jsQR.js"));
    assert!(r.content_type().contains("javascript"));
    let mut js = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut js).unwrap();
    assert_eq!(
        lic::crypto::encode_hex(&lic::crypto::sha256(&js)),
        "bc40c8a15196236b2314db0856f72ca0b49980cd5413b8c852a7349f5fee0859"
    );
    let (_, _, r) = get(&format!("{base}static/jsqr-1.4.0/LICENSE"));
    assert!(r.into_string().unwrap().contains("Apache License"));
    let (_, _, r) = get(&format!("{base}static/app.js"));
    assert!(r.into_string().unwrap().contains("/api/activate"));
    assert_eq!(get(&format!("{base}healthz")).0, 200);
    assert_eq!(get(&format!("{base}nope")).0, 404);
    assert_eq!(get(&format!("{base}api/activate")).0, 405);

    // Only JSON bodies (a cross-site form cannot post one without CORS,
    // which the portal never grants), and small ones.
    let url = format!("{base}api/activate");
    let status = |r: Result<ureq::Response, ureq::Error>| match r {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        status(
            agent()
                .post(&url)
                .set("Content-Type", "text/plain")
                .send_string("{\"request\":\"x\"}")
        ),
        415
    );
    let big = json!({ "request": "x".repeat(20_000) }).to_string();
    assert_eq!(
        status(
            agent()
                .post(&url)
                .set("Content-Type", "application/json")
                .send_string(&big)
        ),
        413
    );
    let r = agent()
        .post(&url)
        .set("Content-Type", "application/json")
        .send_string("{\"request\":\"hello\"}")
        .unwrap();
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[test]
fn bad_options_fail_at_start_with_a_clear_message() {
    let env = Env::new();
    let cases: Vec<(Options, &str)> = vec![
        (
            Options {
                account_id: String::new(),
                ..env.options()
            },
            "account id",
        ),
        (
            Options {
                public_key: "abcd".into(),
                ..env.options()
            },
            "64 hex",
        ),
        (
            Options {
                api_url: "ftp://example.com".into(),
                ..env.options()
            },
            "",
        ),
        (
            Options {
                checkout_ttl: Some(60),
                ..env.options()
            },
            "3600",
        ),
        (
            Options {
                tls: Some((
                    "/nonexistent/cert.pem".into(),
                    "/nonexistent/key.pem".into(),
                )),
                ..env.options()
            },
            "/nonexistent/cert.pem",
        ),
    ];
    for (opts, want) in cases {
        let e = Portal::start(opts).err().expect("refused");
        assert!(e.to_string().contains(want), "{e}");
    }
}

fn pki(dir: &Path) -> (String, PathBuf, PathBuf, TlsOptions) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "portal test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca.self_signed(&ca_key).unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca, &ca_key).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let tls = TlsOptions {
        cert_chain_pem: cert.pem().into_bytes(),
        private_key_pem: key.serialize_pem().into_bytes(),
    };
    (ca.pem(), cert_path, key_path, tls)
}

#[test]
fn tls_on_both_sides() {
    let dir = TempDir::new();
    let (ca_pem, cert, key, dev_tls) = pki(&dir.0);
    let ca_path = dir.0.join("ca.pem");
    std::fs::write(&ca_path, &ca_pem).unwrap();
    // The licensing server over HTTPS from a private CA, and the portal too.
    let server = DevServer::start(DevOptions {
        tls: Some(dev_tls),
        ..DevOptions::default()
    })
    .unwrap();
    let admin = server.admin();
    let product = admin.create_product("TLS");
    let policy = admin.create_policy(
        &product,
        json!({ "name": "p", "authenticationStrategy": "LICENSE", "strict": true, "floating": false, "maxMachines": 1 }),
    );
    let (_, license_key) = admin.create_license(&policy, json!({}));
    let portal = Portal::start(Options {
        api_url: server.base_url(),
        account_id: server.account_id(),
        public_key: server.public_key_hex(),
        ca_bundle: Some(ca_path),
        tls: Some((cert, key)),
        log: LogTo::File(dir.0.join("log")),
        ..Options::default()
    })
    .unwrap();
    assert!(
        portal.url().starts_with("https://127.0.0.1:"),
        "{}",
        portal.url()
    );

    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let https = ureq::AgentBuilder::new()
        .tls_config(Arc::new(config))
        .timeout(Duration::from_secs(30))
        .build();
    let device = lic::Client::new(lic::Config {
        account_id: Some(server.account_id()),
        license_key: Some(license_key.clone()),
        fingerprint: Some("portal-tls".into()),
        no_cache: true,
        ..lic::Config::default()
    })
    .unwrap();
    let text = request_text(&device, &portal);
    let body: Value = https
        .post(&format!("{}api/activate", portal.url()))
        .set("Content-Type", "application/json")
        .send_string(&json!({ "request": text }).to_string())
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(outcome(&body), "activated", "{body:#}");
    // Plain HTTP to the TLS port gets no page.
    let plain = format!("http://127.0.0.1:{}/healthz", portal.local_addr().port());
    assert!(agent().get(&plain).call().is_err());
}

#[test]
fn the_binary_prints_its_url_serves_and_stops_on_sigterm() {
    let env = Env::new();
    let help = Command::new(env!("CARGO_BIN_EXE_lic-portal"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("authenticationStrategy"));
    let bad = Command::new(env!("CARGO_BIN_EXE_lic-portal"))
        .args(["--account-id", "x", "--public-key", "zz"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("64 hex"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_lic-portal"))
        .args(["--port", "0", "--checkout-ttl", "7200"])
        .env("LIC_PORTAL_API_URL", env.server.base_url())
        .env("LIC_PORTAL_ACCOUNT_ID", env.server.account_id())
        .env("LIC_PORTAL_PUBLIC_KEY", env.server.public_key_hex())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let url = info["url"].as_str().unwrap().to_string();
    assert_eq!(info["tls"], false);
    assert_eq!(get(&format!("{url}healthz")).0, 200);
    let (_, key) = env.license(&env.node_locked(), json!({}));
    let device = env.device(&key, "portal-bin");
    let text = device
        .activation_request(&RequestOptions::default())
        .unwrap()
        .text()
        .to_string();
    let body: Value = agent()
        .post(&format!("{url}api/activate"))
        .set("Content-Type", "application/json")
        .send_string(&json!({ "request": text }).to_string())
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(outcome(&body), "activated", "{body:#}");
    device
        .load_file(body["file"]["text"].as_str().unwrap())
        .unwrap();
    let v = device.validate(VALIDATE_OFFLINE_ONLY).unwrap();
    assert_eq!(v.code, ValidationCode::Valid);
    // The TTL asked for is the file's lifetime.
    let lifetime = v.file_expiry.unwrap() - v.file_issued.unwrap();
    assert_eq!(lifetime, 7200 * 1000);

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains("\"outcome\":\"activated\""), "{log}");
    assert!(!log.contains(&key), "{log}");
}
