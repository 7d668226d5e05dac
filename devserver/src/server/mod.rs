//! The running devserver: options, start (identity, state file, bootstrap), the admin client's
//! view of it, housekeeping (culling, saving) and stop. The composition root: the only room that
//! wires the store, signing, the Keygen API, the relay and the HTTP server together.
//!
//! `relay` runs the Keygen Relay mode: the `relay` room's handler on its own server, its reaper,
//! and the license files it is loaded with (a directory, or check-outs from a devserver).

mod relay;

pub use relay::{checkout_license_file, relay_command, RelayRun, RelayServer, RELAY_USAGE};

use crate::api::{self, App, Identity};
use crate::client::Admin;
use crate::http::{self, tls::TlsOptions};
use crate::signing::Signer;
use crate::store::{self, Bootstrap, Store};
use crate::util;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct Options {
    pub host: String,
    pub port: u16,
    pub account_id: Option<String>,
    pub admin_token: Option<String>,
    pub signing_key_seed: Option<[u8; 32]>,
    /// Lowest accepted policy `heartbeatDuration` (Keygen: 60 s).
    pub min_heartbeat_duration: Option<u64>,
    pub state_file: Option<PathBuf>,
    pub bootstrap: bool,
    /// Serve HTTPS with this certificate instead of plain HTTP.
    pub tls: Option<TlsOptions>,
    /// Sign responses over the Host header with its port (`127.0.0.1:PORT`), for SDKs that
    /// expect that; Keygen (and the default) signs Rails' `request.host`, without the port.
    pub sign_host_with_port: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "127.0.0.1".into(),
            port: 0,
            account_id: None,
            admin_token: None,
            signing_key_seed: None,
            min_heartbeat_duration: None,
            state_file: None,
            bootstrap: false,
            tls: None,
            sign_host_with_port: false,
        }
    }
}

const CULL_EVERY: Duration = Duration::from_secs(120);
const SAVE_EVERY: Duration = Duration::from_secs(1);

struct Shared {
    app: Arc<App>,
    stopping: AtomicBool,
    state_file: Option<PathBuf>,
    seed: [u8; 32],
    bootstrap: Option<Bootstrap>,
}

/// A running server. Dropping it stops it (closes the listener and every connection, joins its
/// threads, saves state).
pub struct DevServer {
    shared: Arc<Shared>,
    http: Option<http::Server>,
    addr: SocketAddr,
    /// The host name in `base_url()` and the admin client's TLS configuration, when serving HTTPS.
    tls: Option<(String, Arc<rustls::ClientConfig>)>,
    housekeeping: Option<JoinHandle<()>>,
}

impl DevServer {
    pub fn start(opts: Options) -> io::Result<DevServer> {
        // An unusable certificate fails here, before any state is loaded or created.
        let tls = opts
            .tls
            .as_ref()
            .map(|t| http::tls::setup(t, &opts.host))
            .transpose()?;
        let saved = match &opts.state_file {
            Some(path) => store::load(path)?,
            None => None,
        };
        let seed = opts
            .signing_key_seed
            .or_else(|| saved.as_ref().and_then(|s| s.seed()))
            .unwrap_or_else(util::random_bytes::<32>);
        let account_id = opts
            .account_id
            .clone()
            .or_else(|| saved.as_ref().map(|s| s.account_id.clone()))
            .unwrap_or_else(util::uuid_v4);
        let admin_token = opts
            .admin_token
            .clone()
            .or_else(|| saved.as_ref().map(|s| s.admin_token.clone()))
            .unwrap_or_else(|| format!("admin-{}v3", util::hex(&util::random_bytes::<32>())));
        let (store, offset, mut bootstrap) = match saved {
            Some(s) => (s.store, s.clock_offset_ms, s.bootstrap),
            None => (Store::default(), 0, None),
        };
        let identity = Identity {
            admin_token,
            signer: Signer::new(&seed, account_id.clone()),
            account_id,
        };
        let min_heartbeat = opts
            .min_heartbeat_duration
            .map_or(60, |m| m.min(i64::MAX as u64) as i64);
        let mut app = App::new(identity, store, offset, min_heartbeat);
        app.sign_host_with_port = opts.sign_host_with_port;
        if opts.bootstrap {
            let existing = bootstrap.filter(|b| app.store.lock().license(&b.license_id).is_some());
            bootstrap = Some(existing.unwrap_or_else(|| api::bootstrap(&app)));
            app.dirty.store(true, Ordering::Relaxed);
        } else {
            bootstrap = None;
        }
        let listener = TcpListener::bind((opts.host.as_str(), opts.port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            app: Arc::new(app),
            stopping: AtomicBool::new(false),
            state_file: opts.state_file,
            seed,
            bootstrap,
        });
        shared.save()?;
        let http = http::Server::start(
            listener,
            tls.as_ref().map(|t| t.server.clone()),
            shared.app.clone(),
            http::Limits::default(),
        )?;
        let housekeeping = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("devserver-housekeeping".into())
                .spawn(move || housekeeping(shared))?
        };
        Ok(DevServer {
            shared,
            http: Some(http),
            addr,
            tls: tls.map(|t| (t.host, t.admin)),
            housekeeping: Some(housekeeping),
        })
    }

    /// `http://127.0.0.1:PORT`, or with TLS `https://NAME:PORT` where NAME is a host name the
    /// certificate is valid for (`localhost` when it is and the server listens on loopback).
    pub fn base_url(&self) -> String {
        match &self.tls {
            Some((host, _)) => format!("https://{host}:{}", self.addr.port()),
            None => format!("http://{}", self.addr),
        }
    }

    pub fn account_id(&self) -> String {
        self.shared.app.identity.account_id.clone()
    }

    /// The account's Ed25519 public key, 64 hex characters (Keygen's `ed25519_public_key`).
    pub fn public_key_hex(&self) -> String {
        self.shared.app.identity.signer.public_key_hex()
    }

    /// The account's RSA-2048 public key, SPKI PEM (Keygen's `public_key`). Made from the
    /// signing seed on the first call that needs it.
    pub fn rsa_public_key_pem(&self) -> String {
        self.shared.app.identity.signer.rsa_public_pem()
    }

    /// The account's ECDSA P-256 public key, SPKI PEM (Keygen's `ecdsa_public_key`).
    pub fn ecdsa_public_key_pem(&self) -> String {
        self.shared.app.identity.signer.ecdsa_public_pem()
    }

    pub fn admin_token(&self) -> String {
        self.shared.app.identity.admin_token.clone()
    }

    pub fn bootstrap(&self) -> Option<Bootstrap> {
        self.shared.bootstrap.clone()
    }

    pub fn admin(&self) -> Admin {
        Admin {
            addr: self.addr.to_string(),
            token: self.admin_token(),
            tls: self
                .tls
                .as_ref()
                .map(|(host, config)| (format!("{host}:{}", self.addr.port()), config.clone())),
        }
    }

    pub fn stop(self) {}

    fn shutdown(&mut self) {
        // Listener and connections first, so no request changes the store after the last save.
        drop(self.http.take());
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(t) = self.housekeeping.take() {
            let _ = t.join();
        }
        if let Err(e) = self.shared.save() {
            eprintln!("lic-devserver: could not save state: {e}");
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Shared {
    fn save(&self) -> io::Result<()> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        self.app.dirty.store(false, Ordering::Relaxed);
        let app = &self.app;
        let state = store::State::new(
            app.identity.account_id.clone(),
            app.identity.admin_token.clone(),
            &self.seed,
            app.clock_offset_ms.load(Ordering::Relaxed),
            self.bootstrap.clone(),
            app.store.lock().clone(),
        );
        store::save(path, &state)
    }
}

fn housekeeping(shared: Arc<Shared>) {
    let (mut last_cull, mut last_save) = (Instant::now(), Instant::now());
    while !shared.stopping.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        if last_cull.elapsed() >= CULL_EVERY {
            last_cull = Instant::now();
            if shared.app.store.lock().cull(shared.app.now()) {
                shared.app.dirty.store(true, Ordering::Relaxed);
            }
        }
        if last_save.elapsed() >= SAVE_EVERY && shared.app.dirty.load(Ordering::Relaxed) {
            last_save = Instant::now();
            if let Err(e) = shared.save() {
                eprintln!("lic-devserver: could not save state: {e}");
            }
        }
    }
}
