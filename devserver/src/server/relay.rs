//! The running relay (`lic-devserver relay …`, or `RelayServer::start` in-process): the relay
//! room's handler on its own HTTP server, its reaper thread, and license files loaded from a
//! directory, from a running devserver, or from a devserver it starts itself (`--bootstrap N`).

use crate::client::Admin;
use crate::http;
use crate::relay::{parse_go_duration, LicenseRow, Relay, RelayOptions, Strategy};
use serde_json::{json, Value};
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{DevServer, Options};

/// A running relay. Dropping it stops it (listener, connections, reaper; saves the database).
pub struct RelayServer {
    relay: Arc<Relay>,
    http: Option<http::Server>,
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    reaper: Option<JoinHandle<()>>,
}

impl RelayServer {
    pub fn start(opts: RelayOptions) -> io::Result<RelayServer> {
        let relay = Arc::new(Relay::new(&opts)?);
        let listener = TcpListener::bind((opts.host.as_str(), opts.port))?;
        let addr = listener.local_addr()?;
        let http = http::Server::start(listener, None, relay.clone(), http::Limits::default())?;
        let stopping = Arc::new(AtomicBool::new(false));
        let reaper = {
            let (relay, stopping, every) = (relay.clone(), stopping.clone(), opts.cull_interval);
            std::thread::Builder::new()
                .name("devserver-relay-reaper".into())
                .spawn(move || reap(&relay, &stopping, every))?
        };
        Ok(RelayServer {
            relay,
            http: Some(http),
            addr,
            stopping,
            reaper: Some(reaper),
        })
    }

    /// `http://127.0.0.1:PORT` (Relay serves plain HTTP only).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `127.0.0.1:PORT`, for the raw client.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The Bearer token of the dev extensions (`/v1/dev/…`).
    pub fn admin_token(&self) -> String {
        self.relay.admin_token().to_string()
    }

    /// `relay add`: verifies the file (Ed25519, AES-256-GCM with `key`, dates) and adds it to
    /// `pool`. Returns the Keygen license id, or the text `relay add` prints after `error: `.
    pub fn add_license(&self, file: &str, key: &str, pool: Option<&str>) -> Result<String, String> {
        self.relay.add(file.as_bytes(), key, pool)
    }

    /// Adds a file without checking it, as if Relay's database had been edited (Relay never
    /// checks a stored file again): for testing clients that must refuse it.
    pub fn add_license_unchecked(
        &self,
        license_id: &str,
        file: &str,
        key: &str,
        pool: Option<&str>,
    ) -> Result<(), String> {
        self.relay
            .add_unchecked(license_id, file.as_bytes(), key, pool)
    }

    /// Checks the license out of a running devserver (admin API) and adds it, as a vendor
    /// would with `relay add`. Returns the license id.
    pub fn add_from_devserver(
        &self,
        admin: &Admin,
        license_id: &str,
        pool: Option<&str>,
    ) -> Result<String, String> {
        let (file, key) = checkout_license_file(admin, license_id)?;
        self.add_license(&file, &key, pool)
    }

    /// `relay del`.
    pub fn remove_license(&self, license_id: &str) -> bool {
        self.relay.remove(license_id)
    }

    /// `relay ls`: every license, its pool and the node leasing it.
    pub fn licenses(&self) -> Vec<LicenseRow> {
        self.relay.licenses()
    }

    /// Runs the reaper now. Returns how many nodes it culled.
    pub fn cull(&self) -> usize {
        self.relay.cull()
    }

    /// Moves the relay's clock (the reaper, `expires_at`, `Relay-Clock`, file dates).
    pub fn advance_clock(&self, seconds: i64) {
        self.relay.advance_clock(seconds);
    }

    /// The relay's clock, Unix seconds.
    pub fn now(&self) -> i64 {
        self.relay.now_ms().div_euclid(1000)
    }

    /// Queues a fault, as `POST /v1/dev/faults` (same JSON as the Keygen side's).
    pub fn set_fault(&self, fault: Value) {
        self.relay
            .push_fault(&fault)
            .unwrap_or_else(|e| panic!("bad fault {fault}: {e}"));
    }

    pub fn clear_faults(&self) {
        self.relay.clear_faults();
    }

    pub fn stop(self) {}
}

impl Drop for RelayServer {
    fn drop(&mut self) {
        drop(self.http.take());
        self.stopping.store(true, Ordering::SeqCst);
        if let Some(t) = self.reaper.take() {
            let _ = t.join();
        }
        if let Err(e) = self.relay.save_if_changed() {
            eprintln!("lic-devserver relay: could not save the database: {e}");
        }
    }
}

/// The reaper (only with heartbeats, as `server.Run` starts it) every `every`, and the
/// database saved within a second of a change.
fn reap(relay: &Relay, stopping: &AtomicBool, every: Duration) {
    let (mut last_cull, mut last_save) = (Instant::now(), Instant::now());
    while !stopping.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50).min(every.max(Duration::from_millis(1))));
        if relay.heartbeats() && last_cull.elapsed() >= every {
            last_cull = Instant::now();
            relay.cull();
        }
        if last_save.elapsed() >= Duration::from_secs(1) {
            last_save = Instant::now();
            if let Err(e) = relay.save_if_changed() {
                eprintln!("lic-devserver relay: could not save the database: {e}");
            }
        }
    }
}

/// Checks a license file out of a devserver with its admin token: encrypted with the
/// license key (which it reads too), Ed25519-signed (what Relay verifies), with the
/// license's policy and entitlements. Returns (certificate, license key).
pub fn checkout_license_file(admin: &Admin, license_id: &str) -> Result<(String, String), String> {
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what} {license_id}: {e}");
    let (status, license) = admin
        .request("GET", &format!("/v1/licenses/{license_id}"), None)
        .map_err(|e| fail("cannot read license", &e))?;
    if status != 200 {
        return Err(fail("cannot read license", &license));
    }
    let key = license
        .pointer("/data/attributes/key")
        .and_then(Value::as_str)
        .ok_or_else(|| fail("no key for license", &license))?
        .to_string();
    let body = json!({ "meta": { "algorithm": "aes-256-gcm+ed25519",
                                 "include": ["entitlements", "policy"] } });
    let (status, doc) = admin
        .request(
            "POST",
            &format!("/v1/licenses/{license_id}/actions/check-out"),
            Some(&body),
        )
        .map_err(|e| fail("cannot check out license", &e))?;
    let cert = doc
        .pointer("/data/attributes/certificate")
        .and_then(Value::as_str)
        .filter(|_| status == 200)
        .ok_or_else(|| fail("cannot check out license", &doc))?;
    Ok((cert.to_string(), key))
}

/// `lic-devserver relay …`: what it starts and the JSON line it prints.
pub struct RelayRun {
    pub relay: RelayServer,
    /// The Keygen devserver `--bootstrap N` started beside it.
    pub keygen: Option<DevServer>,
    pub line: Value,
}

pub const RELAY_USAGE: &str = "usage: lic-devserver relay [--host|--bind 127.0.0.1] [--port 0] \
[--ttl 60s] [--cull-interval 15s] [--strategy fifo|lifo|rand] [--no-heartbeats] [--pool NAME] \
[--signing-secret SECRET] [--public-key HEX] [--admin-token TOKEN] [--database FILE] \
[--min-ttl 30s] [--licenses DIR] [--add FILE,KEY[,POOL]]... \
[--keygen URL --keygen-admin-token TOKEN --license ID[,ID…] [--license-pool NAME]] \
[--bootstrap N [--license-pool NAME] [--keygen-port 0] [--export DIR]]";

/// Parses `lic-devserver relay` arguments and starts what they ask for.
pub fn relay_command(args: &[String]) -> Result<RelayRun, String> {
    let mut opts = RelayOptions::default();
    let (mut dir, mut adds, mut bootstrap, mut export) = (None, Vec::new(), None, None);
    let (mut keygen, mut keygen_token, mut keygen_ids) = (None, None, Vec::new());
    let (mut license_pool, mut keygen_port) = (None, 0u16);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        match name {
            "--no-heartbeats" => {
                opts.no_heartbeats = true;
                continue;
            }
            "--help" | "-h" => return Err(RELAY_USAGE.into()),
            _ => {}
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value\n{RELAY_USAGE}"))?,
        };
        let duration = |v: &str| {
            parse_go_duration(v)
                .map_err(|e| format!("invalid argument {v:?} for {name:?} flag: {e}"))
        };
        match name {
            "--host" | "--bind" | "-b" => opts.host = value,
            "--port" | "-p" => {
                opts.port = value
                    .parse()
                    .map_err(|_| format!("{name}: not a port number: {value}"))?
            }
            "--ttl" | "-t" => opts.ttl = duration(&value)?,
            "--cull-interval" => opts.cull_interval = duration(&value)?,
            "--min-ttl" => opts.min_ttl = duration(&value)?,
            "--strategy" => {
                opts.strategy = Strategy::parse(&value).ok_or_else(|| {
                    format!(
                        "invalid argument {value:?} for \"--strategy\" flag: must be one of \"lifo\", \"fifo\", or \"rand\""
                    )
                })?
            }
            "--pool" => opts.pool = Some(value).filter(|p| !p.is_empty()),
            "--signing-secret" => opts.signing_secret = Some(value).filter(|s| !s.is_empty()),
            "--public-key" => opts.public_key_hex = Some(value),
            "--admin-token" => opts.admin_token = Some(value),
            "--database" => opts.database = Some(value.into()),
            "--licenses" => dir = Some(PathBuf::from(value)),
            "--add" => adds.push(value),
            "--keygen" => keygen = Some(value),
            "--keygen-admin-token" => keygen_token = Some(value),
            "--license" => keygen_ids.extend(value.split(',').map(str::to_string)),
            "--license-pool" => license_pool = Some(value),
            "--keygen-port" => {
                keygen_port = value
                    .parse()
                    .map_err(|_| format!("--keygen-port: not a port number: {value}"))?
            }
            "--bootstrap" => {
                bootstrap = Some(
                    value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=1000).contains(n))
                        .ok_or("--bootstrap: a number of licenses from 1 to 1000")?,
                )
            }
            "--export" => export = Some(PathBuf::from(value)),
            other => return Err(format!("unknown option {other}\n{RELAY_USAGE}")),
        }
    }
    let keygen_server = match bootstrap {
        Some(_) => {
            let server = DevServer::start(Options {
                host: opts.host.clone(),
                port: keygen_port,
                ..Options::default()
            })
            .map_err(|e| format!("cannot start the Keygen devserver: {e}"))?;
            opts.public_key_hex.get_or_insert(server.public_key_hex());
            Some(server)
        }
        None => None,
    };
    let relay = RelayServer::start(opts.clone()).map_err(|e| format!("error: {e}"))?;
    let mut added = Vec::new();
    let mut note = |id: String, key: String, pool: Option<String>| {
        added.push(json!({ "id": id, "key": key, "pool": pool }));
    };
    if let Some(dir) = &dir {
        for (file, key, pool) in license_dir(dir)? {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let id = relay
                .add_license(&text, &key, pool.as_deref())
                .map_err(|e| format!("{}: error: {e}", file.display()))?;
            note(id, key, pool);
        }
    }
    for add in &adds {
        let parts: Vec<&str> = add.split(',').collect();
        let (file, key, pool) = match parts[..] {
            [f, k] => (f, k, None),
            [f, k, p] => (f, k, Some(p.to_string())),
            _ => return Err(format!("--add takes FILE,KEY[,POOL], not {add}")),
        };
        let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        let id = relay
            .add_license(&text, key, pool.as_deref())
            .map_err(|e| format!("{file}: error: {e}"))?;
        note(id, key.to_string(), pool);
    }
    if let Some(url) = &keygen {
        let addr = url
            .strip_prefix("http://")
            .ok_or("--keygen takes the http:// URL of a lic-devserver")?
            .trim_end_matches('/')
            .to_string();
        let admin = Admin {
            addr,
            token: keygen_token.ok_or("--keygen needs --keygen-admin-token")?,
            tls: None,
        };
        for id in &keygen_ids {
            let (file, key) = checkout_license_file(&admin, id)?;
            relay
                .add_license(&file, &key, license_pool.as_deref())
                .map_err(|e| format!("license {id}: error: {e}"))?;
            note(id.clone(), key, license_pool.clone());
        }
    }
    let mut line = json!({
        "relay_url": relay.url(),
        "admin_token": relay.admin_token(),
        "ttl": opts.ttl.as_secs(),
        "pool": opts.pool,
    });
    if let (Some(n), Some(server)) = (bootstrap, &keygen_server) {
        let admin = server.admin();
        let product = admin.create_product("Relay demo");
        let policy = admin.create_policy(
            &product,
            json!({ "name": "Relay seats", "authenticationStrategy": "LICENSE" }),
        );
        if let Some(dir) = &export {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        for i in 1..=n {
            let (id, _) = admin.create_license(&policy, json!({ "name": format!("Seat {i}") }));
            let (file, key) = checkout_license_file(&admin, &id)?;
            relay
                .add_license(&file, &key, license_pool.as_deref())
                .map_err(|e| format!("license {id}: error: {e}"))?;
            if let Some(dir) = &export {
                let write = |name: String, data: &str| {
                    std::fs::write(dir.join(&name), data)
                        .map_err(|e| format!("cannot write {name}: {e}"))
                };
                write(format!("{i}.lic"), &file)?;
                write(format!("{i}.key"), &format!("{key}\n"))?;
            }
            note(id, key, license_pool.clone());
        }
        line["keygen_url"] = server.base_url().into();
        line["account_id"] = server.account_id().into();
        line["keygen_admin_token"] = server.admin_token().into();
    }
    line["public_key"] = opts.public_key_hex.clone().into();
    line["licenses"] = Value::Array(added);
    Ok(RelayRun {
        relay,
        keygen: keygen_server,
        line,
    })
}

/// Relay's bulk-add recipe: `NAME.lic` beside `NAME.key`, in sorted order; a subdirectory is
/// a pool of that name. Returns (file, key, pool).
fn license_dir(dir: &Path) -> Result<Vec<(PathBuf, String, Option<String>)>, String> {
    let read = |d: &Path| -> Result<Vec<PathBuf>, String> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .map_err(|e| format!("cannot read {}: {e}", d.display()))?
            .flatten()
            .map(|e| e.path())
            .collect();
        v.sort();
        Ok(v)
    };
    let mut out = Vec::new();
    let mut scan = |d: &Path, pool: Option<String>| -> Result<(), String> {
        for path in read(d)? {
            if path.extension().is_some_and(|e| e == "lic") {
                let key_path = path.with_extension("key");
                let key = std::fs::read_to_string(&key_path).map_err(|e| {
                    format!(
                        "{} has no key ({}): {e}",
                        path.display(),
                        key_path.display()
                    )
                })?;
                out.push((path, key.trim().to_string(), pool.clone()));
            }
        }
        Ok(())
    };
    scan(dir, None)?;
    for sub in read(dir)? {
        if sub.is_dir() {
            let name = sub
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            scan(&sub, Some(name))?;
        }
    }
    Ok(out)
}
