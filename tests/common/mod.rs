//! Shared set-up for the integration tests: an in-process lic-devserver and
//! clients configured against it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use lic::client::Client;
use lic::config::Config;
use lic::crypto::{KeySet, PublicKey};
use lic_devserver::{Admin, DevServer, Options};
use serde_json::{json, Value};

pub struct Env {
    pub server: DevServer,
    pub admin: Admin,
    pub product: String,
    pub dir: TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env::with_options(Options::default())
    }

    /// A server accepting policy heartbeat durations down to `seconds`.
    pub fn with_min_heartbeat(seconds: u64) -> Env {
        Env::with_options(Options {
            min_heartbeat_duration: Some(seconds),
            ..Options::default()
        })
    }

    pub fn with_options(options: Options) -> Env {
        let server = DevServer::start(options).expect("devserver starts");
        let admin = server.admin();
        let product = admin.create_product("Test Product");
        Env {
            server,
            admin,
            product,
            dir: TempDir::new(),
        }
    }

    /// A policy with Keygen attributes; license-key auth unless overridden.
    pub fn policy(&self, attrs: Value) -> String {
        let mut a = json!({ "name": "policy", "authenticationStrategy": "LICENSE" });
        a.as_object_mut()
            .unwrap()
            .extend(attrs.as_object().unwrap().clone());
        self.admin.create_policy(&self.product, a)
    }

    pub fn node_locked(&self) -> String {
        self.policy(json!({ "strict": true, "floating": false, "maxMachines": 1 }))
    }

    pub fn license(&self, policy: &str) -> (String, String) {
        self.admin.create_license(policy, json!({}))
    }

    pub fn config(&self, key: &str, fingerprint: &str) -> Config {
        Config {
            account_id: Some(self.server.account_id()),
            base_url: self.server.base_url(),
            license_key: Some(key.to_string()),
            public_keys: KeySet::of(PublicKey::from_hex(&self.server.public_key_hex()).unwrap()),
            fingerprint: Some(fingerprint.to_string()),
            cache_dir: Some(self.dir.path.join(fingerprint)),
            timeout: std::time::Duration::from_secs(5),
            ..Config::default()
        }
    }

    pub fn client(&self, key: &str, fingerprint: &str) -> Client {
        Client::new(self.config(key, fingerprint)).expect("client")
    }

    pub fn cache_files(&self, fingerprint: &str) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.path.join(fingerprint))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        p.file_name()
                            .unwrap()
                            .to_string_lossy()
                            .starts_with("machine-")
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A temporary directory removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        let mut b = [0u8; 8];
        lic::crypto::random_bytes(&mut b).unwrap();
        let path = std::env::temp_dir().join(format!("lic-test-{}", lic::crypto::encode_hex(&b)));
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A license or machine file with one character of its signed `enc` changed (a valid
/// certificate otherwise: its JSON and base64 still parse), so only the signature fails.
pub fn tamper_certificate(file: &str) -> String {
    let header = file.lines().next().unwrap().to_string();
    let footer = header.replace("BEGIN", "END");
    let body: String = file.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut doc: Value =
        serde_json::from_slice(&lic::crypto::b64_std_decode(&body).unwrap()).unwrap();
    let mut enc: Vec<char> = doc["enc"].as_str().unwrap().chars().collect();
    enc[10] = if enc[10] == 'A' { 'B' } else { 'A' };
    doc["enc"] = Value::String(enc.into_iter().collect());
    let b64 = lic::crypto::b64_std(doc.to_string().as_bytes());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(60)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!("{header}\n{}\n{footer}\n", lines.join("\n"))
}

/// target/<profile>/deps: where `cargo test` (re)builds liblic.so. The copy
/// in target/<profile> is only refreshed by `cargo build`, so it can be stale.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

/// Whether `cc args…` succeeds.
pub fn compiles(cc: &str, args: &[&str]) -> bool {
    Command::new(cc)
        .args(args)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Builds a C program against include/lic.h and the liblic.so of [`lib_dir`]
/// (rpath set, so it runs without LD_LIBRARY_PATH); with AddressSanitizer and
/// UBSan where the compiler has them.
pub fn build_c(source: &Path, out: &Path) -> PathBuf {
    let lib = lib_dir();
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let rpath = format!("-Wl,-rpath,{}", lib.display());
    let base = [
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-g",
        "-I",
        include.to_str().unwrap(),
        source.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "-L",
        lib.to_str().unwrap(),
        &rpath,
        "-llic",
        "-lpthread",
    ];
    let mut with_san: Vec<&str> = vec!["-fsanitize=address,undefined", "-fno-omit-frame-pointer"];
    with_san.extend(base);
    if !compiles("cc", &with_san) {
        assert!(
            compiles("cc", &base),
            "cc failed to build {}",
            source.display()
        );
    }
    out.to_path_buf()
}
