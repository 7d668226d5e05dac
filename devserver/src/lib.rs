//! `lic-devserver`: a local server that speaks the Keygen licensing API faithfully enough that a
//! Keygen client cannot tell it apart for lic's flows. Usable as a binary or in-process:
//!
//! With `Options::tls` it serves HTTPS instead (rustls), the same API and faults over TLS.
//!
//! ```no_run
//! let server = lic_devserver::DevServer::start(lic_devserver::Options::default()).unwrap();
//! let admin = server.admin();
//! let product = admin.create_product("Demo");
//! # let _ = product;
//! ```
#![recursion_limit = "256"]
// `Option::is_none_or` would need Rust 1.82; the workspace targets 1.75.
#![allow(clippy::unnecessary_map_or)]

mod api;
mod client;
mod errors;
mod faults;
mod http;
mod model;
mod params;
mod state;
mod tls;
mod util;
mod views;

pub use client::{Admin, RawResponse};
pub use tls::TlsOptions;

use api::{App, Identity, Outcome};
use ed25519_dalek::SigningKey;
use parking_lot::Mutex;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Client helpers shared by the tests, examples and benchmark (not part of the server).
pub mod raw {
    pub use crate::client::{read_response, send, send_tls};
}

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
        }
    }
}

/// The demo records created by `--bootstrap`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Bootstrap {
    pub product_id: String,
    pub policy_id: String,
    pub license_id: String,
    pub license_key: String,
}

const MAX_CONNECTIONS: usize = 512;
const CULL_EVERY: Duration = Duration::from_secs(120);
const SAVE_EVERY: Duration = Duration::from_secs(1);
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

struct Shared {
    app: App,
    conns: Mutex<HashMap<u64, TcpStream>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    state_file: Option<PathBuf>,
    seed: [u8; 32],
    bootstrap: Option<Bootstrap>,
    tls: Option<Arc<ServerConfig>>,
}

/// A running server. Dropping it stops it (closes the listener, joins its threads, saves state).
pub struct DevServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// The host name in `base_url()` and the admin client's TLS configuration, when serving HTTPS.
    tls: Option<(String, Arc<rustls::ClientConfig>)>,
    threads: Vec<JoinHandle<()>>,
}

impl DevServer {
    pub fn start(opts: Options) -> io::Result<DevServer> {
        // An unusable certificate fails here, before any state is loaded or created.
        let tls = opts
            .tls
            .as_ref()
            .map(|t| tls::setup(t, &opts.host))
            .transpose()?;
        let saved = match &opts.state_file {
            Some(path) => state::load(path)?,
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
            None => (model::Store::default(), 0, None),
        };
        let identity = Identity {
            account_id,
            admin_token,
            key: SigningKey::from_bytes(&seed),
        };
        let min_heartbeat = opts
            .min_heartbeat_duration
            .map_or(60, |m| m.min(i64::MAX as u64) as i64);
        let app = App::new(identity, store, offset, min_heartbeat);
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
            app,
            conns: Mutex::new(HashMap::new()),
            workers: Mutex::new(Vec::new()),
            state_file: opts.state_file,
            seed,
            bootstrap,
            tls: tls.as_ref().map(|t| t.server.clone()),
        });
        shared.save()?;
        let accept = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("devserver-accept".into())
                .spawn(move || accept_loop(listener, shared))?
        };
        let housekeeping = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("devserver-housekeeping".into())
                .spawn(move || housekeeping(shared))?
        };
        Ok(DevServer {
            shared,
            addr,
            tls: tls.map(|t| (t.host, t.admin)),
            threads: vec![accept, housekeeping],
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

    pub fn public_key_hex(&self) -> String {
        util::hex(self.shared.app.identity.key.verifying_key().as_bytes())
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
        let app = &self.shared.app;
        app.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop; it sees `stopping` and returns, closing the listener.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        for conn in self.shared.conns.lock().values() {
            let _ = conn.shutdown(Shutdown::Both);
        }
        let workers: Vec<JoinHandle<()>> = self.shared.workers.lock().drain(..).collect();
        for w in workers {
            let _ = w.join();
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
        let state = state::State::new(
            app.identity.account_id.clone(),
            app.identity.admin_token.clone(),
            &self.seed,
            app.clock_offset_ms.load(Ordering::Relaxed),
            self.bootstrap.clone(),
            app.store.lock().clone(),
        );
        state::save(path, &state)
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut next_id = 0u64;
    for stream in listener.incoming() {
        if shared.app.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let mut workers = shared.workers.lock();
        workers.retain(|w| !w.is_finished());
        if workers.len() >= MAX_CONNECTIONS {
            continue;
        }
        next_id += 1;
        let id = next_id;
        if let Ok(clone) = stream.try_clone() {
            shared.conns.lock().insert(id, clone);
        }
        let worker = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("devserver-conn".into())
            .spawn(move || {
                serve_connection(&worker.app, worker.tls.as_ref(), stream);
                worker.conns.lock().remove(&id);
            });
        match spawned {
            Ok(handle) => workers.push(handle),
            Err(_) => {
                shared.conns.lock().remove(&id);
            }
        }
    }
}

fn housekeeping(shared: Arc<Shared>) {
    let (mut last_cull, mut last_save) = (Instant::now(), Instant::now());
    while !shared.app.stopping.load(Ordering::SeqCst) {
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

/// Closes with SO_LINGER 0, so the peer sees a connection reset.
fn reset(stream: &TcpStream) {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: the fd is open for the lifetime of `stream`, and `linger` is a valid
        // `struct linger` whose size is passed alongside it.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                &linger as *const libc::linger as *const libc::c_void,
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
    }
}

fn simple(status: u16, message: &str) -> http::Response {
    let body =
        serde_json::json!({ "errors": [{ "title": http::reason(status), "detail": message }] });
    http::Response::new(
        status,
        "application/vnd.api+json; charset=utf-8",
        body.to_string().into_bytes(),
    )
}

/// A connection's byte stream, plain or TLS, with the socket under it for the faults that act on
/// TCP itself (reset, abrupt close).
trait Conn: Read + Write {
    fn tcp(&self) -> &TcpStream;
    /// Ends the stream cleanly before the socket closes (TLS: sends close_notify).
    fn finish(&mut self) {}
}

impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Conn for StreamOwned<ServerConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
    fn finish(&mut self) {
        self.conn.send_close_notify();
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.sock).map_or(true, |n| n == 0) {
                break;
            }
        }
    }
}

fn serve_connection(app: &App, tls: Option<&Arc<ServerConfig>>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    match tls {
        None => serve(app, stream),
        Some(config) => {
            if let Some(stream) = handshake(app, config, stream) {
                serve(app, stream)
            }
        }
    }
}

/// Completes the TLS handshake; a failure closes this connection only (and is logged).
fn handshake(
    app: &App,
    config: &Arc<ServerConfig>,
    mut tcp: TcpStream,
) -> Option<StreamOwned<ServerConnection, TcpStream>> {
    let peer = tcp
        .peer_addr()
        .map_or_else(|_| "a client".to_string(), |a| a.to_string());
    let mut conn = match ServerConnection::new(config.clone()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lic-devserver: TLS setup for {peer} failed: {e}");
            return None;
        }
    };
    let _ = tcp.set_read_timeout(Some(HANDSHAKE_TIMEOUT));
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut tcp) {
            if !app.stopping.load(Ordering::Relaxed) {
                eprintln!("lic-devserver: TLS handshake with {peer} failed: {e}");
            }
            return None;
        }
    }
    let _ = tcp.set_read_timeout(Some(IDLE_TIMEOUT));
    Some(StreamOwned::new(conn, tcp))
}

fn serve(app: &App, stream: impl Conn) {
    let mut reader = BufReader::new(stream);
    loop {
        let req = match http::read_request(&mut reader) {
            Ok(req) => req,
            Err(http::ReadError::Closed) => return,
            Err(http::ReadError::Malformed(why)) => {
                let writer = reader.get_mut();
                let _ = simple(
                    400,
                    &format!("The request could not be completed because it was malformed ({why})"),
                )
                .write_to(writer, false);
                writer.finish();
                return;
            }
            Err(http::ReadError::TooLarge) => {
                let writer = reader.get_mut();
                let _ = simple(413, "The request body is too large (maximum 1 MiB)")
                    .write_to(writer, false);
                writer.finish();
                return;
            }
        };
        let keep_alive = req.keep_alive() && !app.stopping.load(Ordering::Relaxed);
        let writer = reader.get_mut();
        match app.handle(&req) {
            Outcome::Reply(resp) => {
                if resp.write_to(writer, keep_alive).is_err() {
                    return;
                }
                if !keep_alive {
                    writer.finish();
                    return;
                }
            }
            Outcome::Refuse => {
                reset(writer.tcp());
                return;
            }
            Outcome::Drop(resp) => {
                // Half the body, then the socket closes: no TLS close_notify either, so a TLS
                // client sees the same truncation a plain one does.
                let mut bytes = resp.head(false);
                bytes.extend_from_slice(&resp.body[..resp.body.len() / 2]);
                let _ = writer.write_all(&bytes);
                let _ = writer.flush();
                let _ = writer.tcp().shutdown(Shutdown::Both);
                return;
            }
        }
    }
}
